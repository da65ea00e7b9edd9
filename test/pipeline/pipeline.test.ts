/**
 * The pipeline as users run it: `reel2real run` (consent → import → quality → retarget → validate → store),
 * `reel2real batch` (shards, skipping what is done, surviving a kill), and `npm run demo`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { builtinMotion } from '../../src/pose/builtin.ts';
import { saveTrack, type PoseTrack } from '../../src/pose/track.ts';
import { openStore } from '../../src/store/store.ts';
import { verifyAudit } from '../../src/privacy/audit.ts';
import { runCli } from '../helpers/cli.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';
import { TEST_OPERATOR_KEY, writeConsent } from '../helpers/consent.ts';

const HUMANOID = path.join(PROJECT_ROOT, 'robots/r2r_humanoid/r2r_humanoid.urdf');
const KEY = TEST_OPERATOR_KEY.toString('hex');
const ENV = { REEL2REAL_PSEUDONYM_KEY: KEY };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-pipe-'));

/** Frames [t0, t1) seconds of a track. */
function slice(t: PoseTrack, t0: number, t1: number): PoseTrack {
  const J = t.jointNames.length;
  const keep = [...t.timestamps.keys()].filter((i) => t.timestamps[i] >= t0 && t.timestamps[i] < t1);
  const a = keep[0], b = keep[keep.length - 1] + 1;
  return {
    ...t,
    positions: t.positions.slice(a * J * 3, b * J * 3),
    confidence: t.confidence.slice(a * J, b * J),
    timestamps: t.timestamps.slice(a, b).map((x) => x - t.timestamps[a]),
    extras: undefined,
  };
}

function consent(recording: string, extra: Record<string, unknown> = {}) {
  writeConsent(recording.replace(/\.npz$/, '.consent.json'), recording, {
    consent_id: `c-${path.basename(recording)}`, contributor: 'worker-7', consent_version: '2.1', scopes: ['robot-training'],
    granted: '2026-01-01', expires: '2030-01-01', withdrawn: null, retention_days: 365, ...extra,
  });
}

/** Short recordings (2 s of the built-in motion at different rates), each with a consent sidecar. */
function recordings(dir: string, n: number): string[] {
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const fps = [30, 25, 20, 15][k % 4];
    const t = slice(builtinMotion('pick-and-place', { fps }), 2.5 + 0.2 * k, 4.5 + 0.2 * k);
    const f = path.join(dir, `clip${k}.npz`);
    saveTrack(f, t);
    consent(f);
    out.push(f);
  }
  return out;
}

describe('reel2real run', () => {
  it('stores an episode per accepted recording, refuses one without consent and rejects a broken one, with reasons', () => {
    const dir = tmp();
    const [good] = recordings(dir, 1);
    // No manifest: refused.
    const noConsent = path.join(dir, 'noconsent.npz');
    fs.copyFileSync(good, noConsent);
    // Jittered by ±4 cm noise on every joint: the quality gate rejects it.
    const noisy = path.join(dir, 'noisy.npz');
    const t = slice(builtinMotion(), 2.5, 4.5);
    let s = 1;
    const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * 2;
    for (let i = 0; i < t.positions.length; i++) t.positions[i] += 0.04 * rnd();
    saveTrack(noisy, t);
    consent(noisy);

    const store = path.join(dir, 'store');
    const r = runCli(['run', good, noConsent, noisy, '--robot', HUMANOID, '--store', store, '--mode', 'assisted', '--json'], { env: ENV });
    // Exit 3: nothing failed, but an input was refused and one rejected (issue 16 item 16).
    expect(r.code, r.stderr).toBe(3);
    const { results } = JSON.parse(r.stdout);
    const by = (f: string) => results.find((x: any) => x.input === f);
    expect(by(good).status).toBe('stored');
    expect(by(good).quality).toBe('pass');
    expect(typeof by(good).feasible).toBe('boolean');
    expect(by(noConsent).status).toBe('refused');
    expect(by(noConsent).reasons[0]).toMatch(/consent/i);
    expect(by(noisy).status).toBe('rejected');
    expect(by(noisy).reasons.join('\n')).toMatch(/jitter/);

    // The store holds exactly the accepted one, complete, with its reports and masks, and verifies.
    const st = openStore(store);
    const list = st.list();
    expect(list.map((e) => e.id)).toEqual([by(good).id]);
    const ep = st.get(by(good).id);
    expect(ep.provenance.contributor).toMatch(/^p-[0-9a-f]{64}$/);
    expect(JSON.stringify(ep)).not.toContain('worker-7');
    expect(ep.motion!.jointNames).toHaveLength(29);
    expect(ep.track!.jointNames).toContain('right_hand_index_finger_tip');
    expect((ep.quality as any).verdict).toBe('pass');
    expect((ep.validation as any).sim.joint_drift_mm).toBeLessThan(1);
    expect(Object.keys(ep.masks ?? {}).length).toBeGreaterThan(0);
    expect(st.verify().ok).toBe(true);
    // Run-to-run figures are kept out of the episode (so its content id is reproducible) and go to the audit log.
    expect((ep.motion!.quality as any).frames_per_cpu_second).toBeUndefined();
    expect((ep.validation as any).sim.steps_per_second).toBeUndefined();
    const audit = verifyAudit(store);
    expect(audit.ok).toBe(true);
    const lines = fs.readFileSync(path.join(store, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const ingest = lines.find((l) => l.action === 'ingest');
    expect(ingest.episode).toBe(by(good).id);
    expect(ingest.details.timing.stage_seconds.validate).toBeGreaterThan(0);
  });

  it('a run where consent refuses everything writes nothing and exits non-zero', () => {
    const dir = tmp();
    const [rec] = recordings(dir, 1);
    fs.writeFileSync(rec.replace(/\.npz$/, '.consent.json'), JSON.stringify({
      consent_id: 'c1', contributor: 'w', consent_version: '1', scopes: ['robot-training'], granted: '2025-01-01', expires: '2025-06-01', withdrawn: null, retention_days: 30,
    }));
    const store = path.join(dir, 'store');
    const r = runCli(['run', rec, '--robot', HUMANOID, '--store', store], { env: ENV });
    expect(r.stdout).toMatch(/refused/);
    expect(r.stdout).toMatch(/expired/);
    expect(r.code).toBe(3);
    expect(fs.existsSync(store)).toBe(false);
  });
});

describe('reel2real batch', () => {
  const ids = (store: string) => openStore(store).list().map((e) => e.id).sort();
  const batchArgs = (src: string, store: string) => ['batch', src, '--store', store, '--robot', HUMANOID, '--mode', 'assisted'];

  it('two shards in parallel equal one unsharded run; a killed shard rerun completes without duplicates', async () => {
    const dir = tmp();
    const src = path.join(dir, 'recordings');
    fs.mkdirSync(src);
    recordings(src, 3);

    const whole = path.join(dir, 'whole');
    const r1 = runCli([...batchArgs(src, whole), '--jobs', '2'], { env: ENV });
    expect(r1.code, r1.stderr + r1.stdout).toBe(0);
    const expected = ids(whole);
    expect(expected).toHaveLength(3);

    // Two shards at once, into one store (as two array tasks sharing a file system).
    const sharded = path.join(dir, 'sharded');
    const run = (env: Record<string, string>) => new Promise<number>((resolve) => {
      const p = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin/reel2real.js'), ...batchArgs(src, sharded), '--jobs', '1'], { env: { ...process.env, ...ENV, ...env }, stdio: 'ignore' });
      p.on('exit', (c) => resolve(c ?? 1));
    });
    const codes = await Promise.all([run({ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '2' }), run({ JOB_COMPLETION_INDEX: '1', REEL2REAL_SHARDS: '2' })]);
    expect(codes).toEqual([0, 0]);
    // Content ids are reproducible: the same episodes, whoever made them.
    expect(ids(sharded)).toEqual(expected);

    // Kill a run after its first episode lands, then run it again.
    const killed = path.join(dir, 'killed');
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin/reel2real.js'), ...batchArgs(src, killed), '--jobs', '1'], { env: { ...process.env, ...ENV }, stdio: 'ignore' });
    const index = path.join(killed, 'index.jsonl');
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (fs.existsSync(index) && fs.readFileSync(index, 'utf8').trim().length > 0) {
          clearInterval(t);
          child.kill('SIGKILL');
          resolve();
        }
      }, 100);
    });
    await new Promise((r) => child.on('exit', r));
    const partial = ids(killed).length;
    expect(partial).toBeGreaterThanOrEqual(1);
    expect(partial).toBeLessThan(3);
    const rerun = runCli([...batchArgs(src, killed), '--jobs', '1'], { env: ENV });
    expect(rerun.code, `stderr: ${rerun.stderr}\nstdout: ${rerun.stdout}`).toBe(0);
    expect(rerun.stdout).toMatch(/already done/);
    expect(ids(killed)).toEqual(expected);
    const lines = fs.readFileSync(index, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(new Set(lines.map((l) => l.id)).size).toBe(lines.length); // nothing indexed twice
    expect(openStore(killed).verify().ok).toBe(true);
  }, 900_000);

  it('refuses a shard outside the range', () => {
    const r = runCli(['batch', PROJECT_ROOT, '--store', path.join(tmp(), 's'), '--robot', HUMANOID, '--shard', '2', '--of', '2'], { env: ENV });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/shard index must be in \[0, 1\], got 2/);
  });
});

describe('npm run demo', () => {
  it('runs the whole pipeline on built-in data, with no operator key set, and says where to look', () => {
    const out = path.join(tmp(), 'demo');
    const r = runCli(['demo', '--out', out], { env: { REEL2REAL_PSEUDONYM_KEY: '' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/signed with a one-off demo key/);
    // Issue 16 item 17: no ZeroMQ socket file left behind.
    expect(fs.existsSync(path.join(out, '.demo-stream.sock'))).toBe(false);
    // Each stage once (issue 18: quality was printed twice), the hand named.
    for (const stage of ['consent', 'import', 'quality', 'retarget', 'validate', 'store', 'export', 'stream']) expect(r.stdout.match(new RegExp(`^${stage}\\b`, 'gm')), stage).toHaveLength(1);
    expect(r.stdout).toMatch(/^retarget {4}226 frames: body → r2r_humanoid \(29 joints\), right hand → r2r_hand \(16 joints\)$/m);
    expect(r.stdout).toMatch(/^ {2}right hand {2}r2r_hand: fingertip error mean [\d.]+ m/m);
    expect(r.stdout).toMatch(/1 episode\(s\) delivered over ZeroMQ, 3 arrays equal to the store's/);
    expect(r.stdout).toMatch(/Where to look/);
    // The demonstration the demo makes is one the robot can do: the physics stage follows it, validate passes it.
    expect(r.stdout).toMatch(/^physics\s+(corrected|feasible)\s*$/m);
    expect(r.stdout).toMatch(/^validate\s+feasible\s*$/m);
    const st = openStore(path.join(out, 'store'));
    expect(st.list()).toHaveLength(1);
    const ep = st.get(st.list()[0].id);
    expect(ep.handMotion?.jointNames.length).toBe(16); // the separate hand, driven by the right hand
    expect(fs.existsSync(path.join(out, 'lerobot', 'meta', 'info.json'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'motion.npz'))).toBe(true);
  }, 300_000);
});
