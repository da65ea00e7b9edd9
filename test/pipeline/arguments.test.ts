/** `run` checks its own arguments before touching any input (issue 18 item 2). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRunArguments } from '../../src/pipeline/run.ts';
import { runCli } from '../helpers/cli.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';

const HUMANOID = path.join(PROJECT_ROOT, 'robots/r2r_humanoid/r2r_humanoid.urdf');

describe('run: arguments first', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-args-'));
  const input = path.join(dir, 'clip.bvh');
  fs.writeFileSync(input, 'not read: the arguments fail first');
  const notUrdf = path.join(dir, 'robot.urdf');
  fs.writeFileSync(notUrdf, 'hello');

  it('names the missing or broken file, whichever argument it is', () => {
    expect(() => checkRunArguments([input], { robot: 'g1_29dof_rev_1_0.urdf' })).toThrow(/^g1_29dof_rev_1_0\.urdf: no such robot URDF \(--robot\)$/);
    expect(() => checkRunArguments([input], { robot: HUMANOID, hand: 'inspire.urdf' })).toThrow(/^inspire\.urdf: no such hand URDF/);
    expect(() => checkRunArguments([input], { robot: HUMANOID, consent: 'clip.consent.json' })).toThrow(/^clip\.consent\.json: no such consent manifest/);
    expect(() => checkRunArguments([input, 'walk.bvh'], { robot: HUMANOID })).toThrow(/^walk\.bvh: no such input file$/);
    expect(() => checkRunArguments([input], { robot: notUrdf })).toThrow(/robot\.urdf: /);
    expect(() => checkRunArguments([input], { robot: HUMANOID, task: 'no-such-task' })).toThrow(/no-such-task/);
    expect(() => checkRunArguments([input], { robot: HUMANOID, task: 'pick-and-place' })).not.toThrow();
  });

  it('CLI: a bare robot file name is one line, exit 1, nothing written, no consent message', () => {
    const store = path.join(dir, 'store');
    const r = runCli(['run', input, '--robot', 'g1_29dof_rev_1_0.urdf', '--store', store], { env: { REEL2REAL_PSEUDONYM_KEY: '' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('reel2real: g1_29dof_rev_1_0.urdf: no such robot URDF (--robot)\n');
    expect(r.stdout).toBe('');
    expect(fs.existsSync(store)).toBe(false);
  });
});
