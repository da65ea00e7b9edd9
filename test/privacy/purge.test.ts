import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { openStore } from '../../src/store/store.ts';
import { exportDataset } from '../../src/export/index.ts';
import type { Episode } from '../../src/store/episode.ts';
import type { RobotMotion } from '../../src/robot/motion.ts';
import { verifyAudit } from '../../src/privacy/audit.ts';
import { frameCacheDir, keptVideoPath, purgeStore, recordConsent } from '../../src/privacy/purge.ts';
import { pseudonymize } from '../../src/privacy/pseudonym.ts';

const KEY = Buffer.alloc(32, 7);
const DAY = 86_400_000;
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-purge-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

function motion(seed: number): RobotMotion {
  const T = 10;
  const q = new Float32Array(T * 2).map((_, i) => Math.sin(i * 0.1 + seed));
  const rootQuat = new Float32Array(T * 4);
  for (let t = 0; t < T; t++) rootQuat[t * 4] = 1;
  return {
    q, rootPos: new Float32Array(T * 3), rootQuat, timestamps: Float64Array.from({ length: T }, (_, i) => i / 10), fps: 10,
    jointNames: ['hip', 'knee'], rootLink: 'base', robot: { name: 'testbot', urdf_sha256: 'a'.repeat(64) },
  };
}

function episode(worker: string, consent: { id: string; expires: string | null }, seed: number): Episode {
  return {
    provenance: {
      contributor: pseudonymize(worker, KEY),
      consent: { id: consent.id, version: '1', scopes: ['robot-training'], expires: consent.expires },
      task: 'wipe-table',
      sources: [{ file: `rec-${seed}.mp4`, sha256: String(seed).repeat(64).slice(0, 64) }],
    },
    motion: motion(seed),
    quality: { verdict: 'pass' },
    validation: { feasible: true },
  };
}

describe('purge', () => {
  it('removes every file derived from withdrawn, expired and past-retention recordings, and says so', async () => {
    const now = Date.now();
    const iso = (t: number) => new Date(t).toISOString();
    const store = path.join(tmp, 'store');
    const s = openStore(store, { create: true });
    const A = s.put(episode('w-a', { id: 'c-a', expires: iso(now + 365 * DAY) }, 1)); // withdrawn later
    const B = s.put(episode('w-b', { id: 'c-b', expires: iso(now + DAY) }, 2));       // expires tomorrow
    const C = s.put(episode('w-c', { id: 'c-c', expires: iso(now + 365 * DAY) }, 3)); // stays
    const D = s.put(episode('w-d', { id: 'c-d', expires: null }, 4));                  // 1-day retention
    // Consent records kept at ingest (pseudonymised); D's allows 1 day of retention.
    const rec = (id: string, worker: string, extra: object = {}) => recordConsent(store, {
      consent_id: id, contributor: pseudonymize(worker, KEY), consent_version: '1', scopes: ['robot-training'],
      granted: iso(now - DAY), expires: null, withdrawn: null, retention_days: null, ...extra,
    });
    rec('c-a', 'w-a'); rec('c-c', 'w-c', { retention_days: 365 }); rec('c-d', 'w-d', { retention_days: 1 });
    // The operator's current manifest for A records the withdrawal.
    const consents = path.join(tmp, 'consents');
    fs.mkdirSync(consents);
    fs.writeFileSync(path.join(consents, 'rec-1.mp4.consent.json'), JSON.stringify({
      consent_id: 'c-a', contributor: 'w-a', consent_version: '1', scopes: ['robot-training'],
      granted: iso(now - DAY).slice(0, 10), expires: null, withdrawn: iso(now).slice(0, 10), retention_days: null,
    }));
    // Derived files: kept videos, cached frames (by episode id and by source hash).
    for (const id of [A, C]) { fs.mkdirSync(path.dirname(keptVideoPath(store, id)), { recursive: true }); fs.writeFileSync(keptVideoPath(store, id), 'video'); }
    for (const id of [A, B, C]) { fs.mkdirSync(frameCacheDir(store, id), { recursive: true }); fs.writeFileSync(path.join(frameCacheDir(store, id), '000001.jpg'), 'jpg'); }
    fs.writeFileSync(path.join(store, 'cache', '2'.repeat(64) + '.thumb.png'), 'png'); // B's source hash
    // Real exports: one with every episode (found through its audit event), one with C only (found through --exports).
    const exAll = path.join(tmp, 'audited', 'all-motion'); // outside --exports: found through the audit log only
    await exportDataset(store, { format: 'motion-npz', out: exAll }); // export logs {action: 'export', details: {out}}
    const onlyC = path.join(tmp, 'store-c');
    const sc = openStore(onlyC, { create: true });
    sc.put(episode('w-c', { id: 'c-c', expires: iso(now + 365 * DAY) }, 3));
    const exC = path.join(tmp, 'datasets', 'c-lerobot');
    await exportDataset(onlyC, { format: 'lerobot-v3', out: exC });

    const at = iso(now + 2 * DAY);
    const dry = purgeStore(store, { now: new Date(at), consents: [consents], exports: [path.join(tmp, 'datasets')], dryRun: true });
    expect(dry.episodes.map((e) => e.id).sort()).toEqual([A, B, D].sort());
    expect(fs.existsSync(s.episodeDir(A))).toBe(true); // dry run removed nothing

    const r = runCli(['purge', store, '--consents', consents, '--exports', path.join(tmp, 'datasets'), '--at', at, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    const reasons = Object.fromEntries(rep.episodes.map((e: any) => [e.id, e.reason]));
    expect(reasons[A]).toMatch(/consent c-a withdrawn/);
    expect(reasons[B]).toMatch(/consent c-b expired/);
    expect(reasons[D]).toMatch(/retention period of consent c-d \(1 days\) is over/);
    expect(reasons[C]).toBeUndefined();
    // Every derived file is gone; C's are all still there.
    for (const id of [A, B, D]) expect(fs.existsSync(s.episodeDir(id))).toBe(false);
    expect(fs.existsSync(keptVideoPath(store, A))).toBe(false);
    expect(fs.existsSync(frameCacheDir(store, A))).toBe(false);
    expect(fs.existsSync(frameCacheDir(store, B))).toBe(false);
    expect(fs.existsSync(path.join(store, 'cache', '2'.repeat(64) + '.thumb.png'))).toBe(false);
    expect(fs.existsSync(exAll)).toBe(false);
    expect(rep.removed).toEqual(expect.arrayContaining([s.episodeDir(A), keptVideoPath(store, A), frameCacheDir(store, B), exAll]));
    expect(fs.existsSync(s.episodeDir(C))).toBe(true);
    expect(fs.existsSync(keptVideoPath(store, C))).toBe(true);
    expect(fs.existsSync(frameCacheDir(store, C))).toBe(true);
    expect(fs.existsSync(exC)).toBe(true);
    // The store agrees, the removals are in the audit log, and the log is intact.
    const after = openStore(store);
    expect(after.list().map((e) => e.id)).toEqual([C]);
    expect(after.removal(A)?.reason).toMatch(/privacy purge/);
    const log = fs.readFileSync(path.join(store, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log.filter((e) => e.action === 'purge').map((e) => e.episode).sort()).toEqual([A, B, D].sort());
    expect(log.some((e) => e.action === 'purge-export' && e.details.dir === exAll)).toBe(true);
    expect(verifyAudit(store).ok).toBe(true);
    // Nothing on disk anywhere still mentions a purged episode (except the store's index tombstones and audit log).
    const leftovers: string[] = [];
    const walk = (d: string) => { for (const f of fs.readdirSync(d)) { const p = path.join(d, f); if (fs.statSync(p).isDirectory()) walk(p); else if (!/index\.jsonl$|audit\.jsonl$/.test(p) && [A, B, D].some((id) => p.includes(id) || fs.readFileSync(p).includes(id))) leftovers.push(p); } };
    walk(tmp);
    expect(leftovers).toEqual([]);
    // A second purge finds nothing more.
    const again = purgeStore(store, { now: new Date(at), consents: [consents] });
    expect(again.episodes).toEqual([]);
    expect(again.removed).toEqual([]);
    // An export made elsewhere before the purge, shown to a later purge, still goes: it holds a purged episode.
    const late = path.join(tmp, 'elsewhere', 'old-export');
    fs.mkdirSync(path.join(late, 'meta'), { recursive: true });
    fs.copyFileSync(path.join(exC, 'meta', 'reel2real.json'), path.join(late, 'meta', 'reel2real.json'));
    const meta = JSON.parse(fs.readFileSync(path.join(late, 'meta', 'reel2real.json'), 'utf8'));
    meta.episodes.push({ ...meta.episodes[0], id: B });
    fs.writeFileSync(path.join(late, 'meta', 'reel2real.json'), JSON.stringify(meta));
    const third = purgeStore(store, { now: new Date(at), exports: [path.join(tmp, 'elsewhere')] });
    expect(third.exports).toEqual([{ dir: late, episodes: [B] }]);
    expect(fs.existsSync(late)).toBe(false);
  }, 120_000);
});
