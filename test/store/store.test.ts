import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.ts';
import { episodeChecksums } from '../../src/store/episode.ts';
import { crc32 } from '../../src/io/npz.ts';
import { episodeTensors } from '../../src/transport/wire.ts';
import { UserError } from '../../src/errors.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';
import { runCli } from '../helpers/cli.ts';
import { syntheticEpisode } from './fixtures.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-store-'));
const WORKER = path.join(PROJECT_ROOT, 'test', 'store', 'put-worker.ts');

function runWorker(dir: string, first: number, count: number, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', WORKER, dir, String(first), String(count)], {
    cwd: PROJECT_ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000,
  });
}

function indexLines(dir: string): string[] {
  return fs.readFileSync(path.join(dir, 'index.jsonl'), 'utf8').split('\n').filter((l) => l.length);
}

describe('episode store', () => {
  it('get: the episode carries the CRC-32 of every array it streams, from the files, equal to a fresh checksum', () => {
    const store = openStore(path.join(tmp(), 's'), { create: true });
    const ep = syntheticEpisode(5);
    ep.handMotion = { ...ep.motion!, extras: { contact: { dtype: 'u1', shape: [ep.motion!.timestamps.length], data: new Uint8Array(ep.motion!.timestamps.length).fill(1) } } };
    const back = store.get(store.put(ep));
    const tensors = episodeTensors(back);
    expect(tensors.map((t) => t.name)).toEqual(expect.arrayContaining(['q', 'human.positions', 'hand.q', 'hand.extra.contact', 'mask.occluded']));
    for (const { name, arr } of tensors) {
      expect(arr.crc32, name).toBe(crc32(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength)));
    }
    expect(back.checksums).toEqual(episodeChecksums(back));
    // Without verification the files are still read once, and the checksums come with them.
    expect(store.get(store.list()[0].id, { verify: false }).checksums).toEqual(back.checksums);
  });

  it('round-trips an episode: arrays, provenance, reports and masks come back equal', () => {
    const store = openStore(path.join(tmp(), 's'), { create: true });
    const ep = syntheticEpisode(3);
    const id = store.put(ep);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(store.has(id)).toBe(true);
    const back = store.get(id);
    expect(Array.from(back.motion!.q)).toEqual(Array.from(ep.motion!.q));
    expect(Array.from(back.motion!.rootQuat)).toEqual(Array.from(ep.motion!.rootQuat));
    expect(back.motion!.jointNames).toEqual(ep.motion!.jointNames);
    expect(back.motion!.robot).toEqual(ep.motion!.robot);
    const pos = Array.from(back.track!.positions);
    expect(pos.length).toBe(ep.track!.positions.length);
    for (let i = 0; i < pos.length; i++) {
      const a = ep.track!.positions[i];
      if (Number.isNaN(a)) expect(Number.isNaN(pos[i])).toBe(true);
      else expect(pos[i]).toBe(a);
    }
    expect(back.provenance).toEqual(ep.provenance);
    expect(back.quality).toEqual(ep.quality);
    expect(back.validation).toEqual(ep.validation);
    expect(Array.from(back.masks!.occluded)).toEqual(Array.from(ep.masks!.occluded));
    const [entry] = store.list();
    expect(entry).toMatchObject({ id, task: 'wipe the table', robot: 'unitree_g1', frames: 40, fps: 30, feasible: true, verdict: 'good' }); // the quality gate's verdict; the validation's is feasible
  });

  it('gives the same id for the same content (key order and createdAt aside) and different ids otherwise', () => {
    const a = openStore(path.join(tmp(), 'a'), { create: true });
    const b = openStore(path.join(tmp(), 'b'), { create: true });
    const ep1 = syntheticEpisode(5);
    const ep2 = syntheticEpisode(5);
    ep2.provenance = { ...ep2.provenance, createdAt: '2030-01-01T00:00:00.000Z' };
    ep2.quality = { jitter: ep1.quality!.jitter, verdict: 'good' }; // same content, other key order
    expect(a.put(ep1)).toBe(b.put(ep2));
    const ep3 = syntheticEpisode(5);
    ep3.motion!.q[17] += 1e-3; // one joint value differs
    expect(a.put(ep3)).not.toBe(a.put(ep1));
    const ep4 = syntheticEpisode(5);
    ep4.provenance.consent = { ...ep4.provenance.consent, version: '2' };
    expect(a.put(ep4)).not.toBe(a.put(ep1));
  });

  it('is idempotent: putting an episode again changes nothing', () => {
    const dir = path.join(tmp(), 's');
    const store = openStore(dir, { create: true });
    const id = store.put(syntheticEpisode(1));
    const before = fs.readFileSync(path.join(dir, 'index.jsonl'));
    const mtime = fs.statSync(path.join(store.episodeDir(id), 'motion.npz')).mtimeMs;
    expect(store.put(syntheticEpisode(1))).toBe(id);
    expect(fs.readFileSync(path.join(dir, 'index.jsonl'))).toEqual(before);
    expect(fs.statSync(path.join(store.episodeDir(id), 'motion.npz')).mtimeMs).toBe(mtime);
    expect(fs.readdirSync(path.join(dir, 'tmp'))).toEqual([]);
    // A second process opening the same store sees the same single entry.
    expect(openStore(dir).list().map((e) => e.id)).toEqual([id]);
  });

  it('refuses bad input with UserErrors and keeps nothing of it', () => {
    const dir = path.join(tmp(), 's');
    const store = openStore(dir, { create: true });
    const noConsent = syntheticEpisode(2);
    (noConsent.provenance as any).consent = undefined;
    expect(() => store.put(noConsent)).toThrow(/consent/);
    const badMotion = syntheticEpisode(2);
    badMotion.motion!.q[3] = NaN;
    expect(() => store.put(badMotion)).toThrow(UserError);
    const pathSource = syntheticEpisode(2);
    pathSource.provenance.sources = [{ file: '/home/alice/clip.mp4', sha256: 'f'.repeat(64) }];
    expect(() => store.put(pathSource)).toThrow(/base name/);
    expect(store.list()).toEqual([]);
    expect(fs.readdirSync(path.join(dir, 'tmp'))).toEqual([]);
    expect(() => openStore(path.join(tmp(), 'nope'))).toThrow(/no such store/);
    expect(() => store.get('0'.repeat(64))).toThrow(/no episode/);
    expect(() => store.get('xyz')).toThrow(/not an episode id/);
  });

  it('remove() deletes the files, appends a removal line, and the id is not stored again', () => {
    const dir = path.join(tmp(), 's');
    const store = openStore(dir, { create: true });
    const keep = store.put(syntheticEpisode(1));
    const gone = store.put(syntheticEpisode(2));
    expect(store.remove(gone, 'consent withdrawn')).toBe(true);
    expect(store.remove(gone, 'consent withdrawn')).toBe(false); // idempotent
    expect(store.has(gone)).toBe(false);
    expect(fs.existsSync(store.episodeDir(gone))).toBe(false);
    expect(store.list().map((e) => e.id)).toEqual([keep]);
    const lines = indexLines(dir).map((l) => JSON.parse(l));
    expect(lines.length).toBe(3); // two adds, one removal: nothing rewritten
    expect(lines[2]).toMatchObject({ id: gone, removed: true, reason: 'consent withdrawn' });
    expect(() => store.put(syntheticEpisode(2))).toThrow(/was removed/);
    expect(openStore(dir).verify().ok).toBe(true);
  });

  it('verify() finds a tampered file, a missing episode directory and an unindexed episode', () => {
    const dir = path.join(tmp(), 's');
    const store = openStore(dir, { create: true });
    const a = store.put(syntheticEpisode(1));
    const b = store.put(syntheticEpisode(2));
    const c = store.put(syntheticEpisode(3));
    expect(store.verify()).toMatchObject({ ok: true, episodes: 3, indexed: 3, problems: [] });

    // Flip one float inside motion.npz: the zip CRC or the content hash must catch it.
    const f = path.join(store.episodeDir(a), 'motion.npz');
    const buf = fs.readFileSync(f);
    buf[buf.length - 400] ^= 0x01;
    fs.writeFileSync(f, buf);
    // Change a report in episode.json: only the content hash can catch this.
    const ej = path.join(store.episodeDir(b), 'episode.json');
    const rec = JSON.parse(fs.readFileSync(ej, 'utf8'));
    rec.validation.feasible = false;
    fs.writeFileSync(ej, JSON.stringify(rec));
    fs.rmSync(store.episodeDir(c), { recursive: true });

    const r = openStore(dir).verify();
    expect(r.ok).toBe(false);
    const by = (id: string) => r.problems.filter((p) => p.id === id).map((p) => p.problem).join('; ');
    expect(by(a)).toMatch(/CRC|not its id/);
    expect(by(b)).toMatch(/not its id/);
    expect(by(c)).toMatch(/directory is missing/);
    expect(() => openStore(dir).get(b)).toThrow(/does not match its content/);
    // Putting the same episode again (a batch rerun) replaces the damaged copies.
    const healer = openStore(dir);
    expect(healer.put(syntheticEpisode(1))).toBe(a);
    expect(healer.put(syntheticEpisode(2))).toBe(b);
    const healed = healer.verify();
    expect(healed.problems.map((p) => p.id)).toEqual([c]);
    expect(healer.get(b).validation!.feasible).toBe(true);
    fs.writeFileSync(f, buf); // damage a again for the CLI check below
    fs.writeFileSync(ej, JSON.stringify(rec));
    // The CLI says so too, with a non-zero exit.
    const cli = runCli(['store', 'verify', dir, '--json']);
    expect(cli.code).toBe(1);
    expect(JSON.parse(cli.stdout).problems.length).toBe(3);
  });

  it('CLI: store ls / show (by id prefix) / verify --repair', () => {
    const dir = path.join(tmp(), 's');
    const store = openStore(dir, { create: true });
    const a = store.put(syntheticEpisode(1, 40, { task: 'wipe the table' }));
    const b = store.put(syntheticEpisode(2, 25, { task: 'stack cups', feasible: false }));
    const ls = runCli(['store', 'ls', dir, '--json']);
    expect(ls.code).toBe(0);
    expect(JSON.parse(ls.stdout).map((e: any) => [e.id, e.frames, e.feasible])).toEqual([[a, 40, true], [b, 25, false]]);
    const table = runCli(['store', 'ls', dir]);
    // Two verdicts in two columns (the quality gate's, then the simulation's), and whether a video was kept.
    expect(table.stdout).toMatch(/^id\s+robot\s+frames\s+fps\s+quality\s+feasible\s+video\s+task\s+created$/m);
    expect(table.stdout).toMatch(new RegExp(`${b.slice(0, 12)}\\s+unitree_g1\\s+25\\s+30\\s+good\\s+no\\s+no\\s+stack cups`));
    expect(table.stdout).toMatch(/2 episodes/);
    const show = runCli(['store', 'show', dir, b.slice(0, 8), '--json']);
    expect(show.code).toBe(0);
    const rec = JSON.parse(show.stdout);
    expect(rec.id).toBe(b);
    expect(rec.provenance.consent.id).toBe('consent-001');
    expect(Object.keys(rec.files).sort()).toEqual(['episode.json', 'masks.npz', 'motion.npz', 'track.npz']);
    // The text form: one line per fact, the reports as readable lines, not one JSON line each.
    const text = runCli(['store', 'show', dir, b.slice(0, 8)]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^quality {5}good$/m);
    expect(text.stdout).toMatch(/^feasible {4}no$/m);
    expect(text.stdout).toMatch(/^video {7}not kept$/m);
    expect(text.stdout).toMatch(/^validation: NOT FEASIBLE$/m);
    expect(Math.max(...text.stdout.split('\n').map((l) => l.length))).toBeLessThan(200);
    const missing = runCli(['store', 'show', dir, 'ffff0000']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^reel2real: .*no episode whose id starts with ffff0000\n$/);
    // A leftover of a dead writer: verify warns, --repair clears it.
    fs.mkdirSync(path.join(dir, 'tmp', 'put-4194305-abcdef'));
    const v = runCli(['store', 'verify', dir]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/warning: .*died/);
    const r = runCli(['store', 'verify', dir, '--repair', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, warnings: [], repaired: { removedTemp: [path.join(dir, 'tmp', 'put-4194305-abcdef')] } });
  });

  it('tolerates a torn last index line and keeps later appends on their own lines', () => {
    const dir = path.join(tmp(), 's');
    const store = openStore(dir, { create: true });
    const a = store.put(syntheticEpisode(1));
    fs.appendFileSync(path.join(dir, 'index.jsonl'), '{"id":"abc","crea'); // a crash mid-append
    expect(openStore(dir).list().map((e) => e.id)).toEqual([a]);
    const b = openStore(dir).put(syntheticEpisode(2));
    expect(openStore(dir).list().map((e) => e.id)).toEqual([a, b]);
    const r = openStore(dir).verify();
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => w.problem).join()).toMatch(/torn/);
  });

  it('takes over an index lock left by a dead process, or one too old to be held by anyone working', () => {
    const dir = path.join(tmp(), 's');
    const store = openStore(dir, { create: true });
    const lock = path.join(dir, 'index.lock');
    // A pid that is not running (beyond the kernel's pid range).
    fs.writeFileSync(lock, '4194305');
    const t0 = Date.now();
    store.put(syntheticEpisode(1));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(fs.existsSync(lock)).toBe(false);
    // pid 1 is alive, but the lock is 11 minutes old.
    fs.writeFileSync(lock, '1');
    const old = new Date(Date.now() - 11 * 60_000);
    fs.utimesSync(lock, old, old);
    store.put(syntheticEpisode(2));
    expect(store.list()).toHaveLength(2);
    expect(fs.existsSync(lock)).toBe(false);
    // An empty lock 3 s old: its maker was killed between creating it and writing its pid (a batch run SIGKILLed on a
    // loaded machine left one; the rerun waited its 30 s timeout and failed). Taken over at once.
    fs.writeFileSync(lock, '');
    const stale = new Date(Date.now() - 3000);
    fs.utimesSync(lock, stale, stale);
    const t1 = Date.now();
    store.put(syntheticEpisode(3));
    expect(Date.now() - t1).toBeLessThan(5000);
    expect(store.list()).toHaveLength(3);
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('a process killed mid-put leaves the whole episode or nothing; repair() clears the leftovers', () => {
    const dir = path.join(tmp(), 's');
    const base = runWorker(dir, 100, 1);
    expect(base.status).toBe(0);
    const firstId = base.stdout.trim();
    for (const stage of ['after-first-file', 'before-rename']) {
      const r = runWorker(dir, 200, 1, { REEL2REAL_TEST_STORE_CRASH: stage });
      expect(r.signal).toBe('SIGKILL');
      const store = openStore(dir);
      expect(store.list().map((e) => e.id)).toEqual([firstId]);
      const v = store.verify();
      expect(v.ok).toBe(true); // no partial episode visible
      expect(v.episodes).toBe(1);
      expect(v.warnings.some((w) => /died/.test(w.problem))).toBe(true);
      expect(store.repair().removedTemp.length).toBe(1);
      expect(store.verify().warnings).toEqual([]);
    }
    // Killed after the rename, before indexing: the episode is whole but unindexed.
    const r = runWorker(dir, 300, 1, { REEL2REAL_TEST_STORE_CRASH: 'after-rename' });
    expect(r.signal).toBe('SIGKILL');
    const v = openStore(dir).verify();
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.problem).join()).toMatch(/not in the index/);
    // A rerun of the batch heals it (idempotent put indexes it), as does repair().
    const again = runWorker(dir, 300, 1);
    expect(again.status).toBe(0);
    const store = openStore(dir);
    expect(store.verify()).toMatchObject({ ok: true, episodes: 2, indexed: 2 });
    expect(store.list().map((e) => e.id)).toContain(again.stdout.trim());
  });

  it('a process SIGKILLed at a random moment while putting leaves no partial episode', async () => {
    const dir = path.join(tmp(), 's');
    openStore(dir, { create: true });
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, dir, '1000', '200', '300'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d) => {
        out += d;
        // Kill once a few episodes are in: the next put is somewhere in the middle.
        if (out.split('\n').length > 4) { child.kill('SIGKILL'); resolve(); }
      });
      child.on('exit', () => resolve());
    });
    await new Promise((r) => child.once('exit', r));
    const store = openStore(dir);
    const v = store.verify();
    // Every directory on disk is a whole episode matching its id; at most one is unindexed (killed between
    // rename and index append); repair() makes the store clean.
    expect(v.problems.filter((p) => !/not in the index/.test(p.problem))).toEqual([]);
    store.repair();
    const after = store.verify();
    expect(after).toMatchObject({ ok: true, warnings: [] });
    expect(after.episodes).toBeGreaterThanOrEqual(4);
    for (const e of store.list()) expect(store.get(e.id).motion!.timestamps.length).toBe(300);
  });

  it('several processes putting at once: every episode indexed once, no torn or duplicate lines', async () => {
    const dir = path.join(tmp(), 's');
    openStore(dir, { create: true });
    // 4 writers, 12 episodes each, overlapping seed ranges so writers race on the same ids.
    const ranges = [[0, 12], [6, 12], [12, 12], [0, 12]];
    const outs = await Promise.all(ranges.map(([first, count]) => new Promise<string>((resolve, reject) => {
      const c = spawn(process.execPath, ['--import', 'tsx', WORKER, dir, String(first), String(count)], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      c.stdout.on('data', (d) => (out += d));
      c.stderr.on('data', (d) => (err += d));
      c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`writer exited ${code}: ${err}`))));
    })));
    const ids = new Set(outs.flatMap((o) => o.trim().split('\n')));
    expect(ids.size).toBe(24); // seeds 0..23
    const lines = indexLines(dir);
    expect(lines.length).toBe(24);
    const parsed = lines.map((l) => JSON.parse(l));
    expect(new Set(parsed.map((p) => p.id))).toEqual(ids);
    expect(fs.readFileSync(path.join(dir, 'index.jsonl'), 'utf8').endsWith('\n')).toBe(true);
    expect(openStore(dir).verify()).toMatchObject({ ok: true, episodes: 24, indexed: 24, warnings: [] });
  });
});
