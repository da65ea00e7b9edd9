/**
 * Number options given text: one line naming what was given, exit code 1, before the command does anything
 * (yargs alone would pass NaN on to the command).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

describe('CLI number options', () => {
  it('refuses text where a number belongs, naming it, before the command runs', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-opts-'));
    const missing = path.join(dir, 'no-store');
    const cases: [string[], string][] = [
      [['view', missing, '--port', 'abc'], 'reel2real: --port must be a number, got "abc"'],
      [['view', missing, '--port=8o8o'], 'reel2real: --port must be a number, got "8o8o"'],
      [['serve', missing, '--bind', 'tcp://127.0.0.1:0', '--heartbeat-ms', 'fast'], 'reel2real: --heartbeat-ms must be a number, got "fast"'],
    ];
    for (const [args, line] of cases) {
      const r = runCli(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trim()).toBe(line);
    }
    // A number is accepted and the command runs (and fails on the missing store, not on the option).
    const ok = runCli(['view', missing, '--port', '0']);
    expect(ok.code).toBe(1);
    expect(ok.stderr).toMatch(/no-store/);
    expect(fs.existsSync(missing)).toBe(false);
  });
});
