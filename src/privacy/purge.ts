/**
 * Retention: remove everything derived from recordings whose consent expired, was withdrawn, or whose
 * retention period is over.
 *
 * Where derived data lives (the conventions other stages follow):
 *   <store>/episodes/...                  episodes (removed with store.remove(id, reason): a tombstone stays in the index)
 *   <store>/videos/<episode-id>.<ext>     kept (sanitized) videos — see keptVideoPath()
 *   <store>/cache/<episode-id>/           cached frames, thumbnails — see frameCacheDir()
 *   (files named after a source's sha256 instead of the episode id are matched too)
 *   exported datasets                     any directory with meta/reel2real.json (LeRobot) or meta.json
 *                                         (motion-npz) listing the episode's id: under <store>/exports/, any
 *                                         --exports directory, and any `export` audit event's details.out
 *   <store>/consents/<consent-id>.json    consent records (pseudonymised) written by recordConsent() at ingest
 *
 * Consent state comes from the episode's provenance (expiry), the store's consent records, and any current
 * manifests the operator passes (`--consents`): a withdrawal recorded in any of them counts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { openStore } from '../store/store.ts';
import { appendAudit, auditLogPath } from './audit.ts';
import { consentLapsed, loadConsent, parseConsent, type ConsentManifest } from './consent.ts';

export function keptVideoPath(store: string, episodeId: string, ext = '.mp4'): string {
  return path.join(store, 'videos', episodeId + ext);
}

export function frameCacheDir(store: string, episodeId: string): string {
  return path.join(store, 'cache', episodeId);
}

function consentsDir(store: string): string {
  return path.join(store, 'consents');
}

/**
 * Keep the consent record of an accepted recording in the store (contributor already pseudonymised; see
 * gateIngest().manifest), so purge knows retention and later withdrawals. Call after the gate, with the run.
 */
export function recordConsent(store: string, manifest: Omit<ConsentManifest, 'file'> & { file?: string }): string {
  if (!/^p-[0-9a-f]{64}$/.test(manifest.contributor)) throw new UserError('consent record must carry the contributor pseudonym (gateIngest().manifest), never the raw id', store);
  const safe = manifest.consent_id.replace(/[^A-Za-z0-9_.-]/g, '_');
  const file = path.join(consentsDir(store), `${safe}.json`);
  const { file: _f, ...rec } = manifest;
  writeFileAtomic(file, JSON.stringify(rec, null, 1) + '\n');
  return file;
}

/** Consent manifests from files or directories (recursively: *.json, *.yaml, *.yml that parse as manifests). */
export function readConsents(paths: string[]): ConsentManifest[] {
  const out: ConsentManifest[] = [];
  const visit = (p: string, top: boolean) => {
    if (!fs.existsSync(p)) {
      if (top) throw new UserError('no such file or directory', p);
      return;
    }
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const f of fs.readdirSync(p).sort()) visit(path.join(p, f), false);
      return;
    }
    if (!/\.(json|ya?ml)$/i.test(p)) return;
    if (top) { out.push(loadConsent(p)); return; }
    try {
      out.push(loadConsent(p));
    } catch {
      // Not a consent manifest (other JSON in the directory): ignore when scanning.
    }
  };
  for (const p of paths) visit(p, true);
  return out;
}

/** The consent records kept in a store (`<store>/consents/`), [] when there are none. */
export function storeConsents(store: string): ConsentManifest[] {
  const dir = consentsDir(store);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => {
    const file = path.join(dir, f);
    try {
      return parseConsent(JSON.parse(fs.readFileSync(file, 'utf8')), file);
    } catch (err) {
      throw err instanceof UserError ? err : new UserError(`unreadable consent record: ${(err as Error).message.split('\n')[0]}`, file);
    }
  });
}

/** Episode ids an exported dataset directory contains (empty when it is not a reel2real export). */
export function exportedIds(dir: string): string[] {
  for (const f of [path.join(dir, 'meta', 'reel2real.json'), path.join(dir, 'meta.json')]) {
    if (!fs.existsSync(f)) continue;
    try {
      const j = JSON.parse(fs.readFileSync(f, 'utf8'));
      if (j.kind === 'reel2real-export' && Array.isArray(j.episodes)) return j.episodes.map((e: { id: string }) => String(e.id));
      if (j.kind === 'reel2real-motion-npz' && Array.isArray(j.clips)) return j.clips.map((c: { id: string }) => String(c.id));
    } catch {
      /* not ours */
    }
  }
  return [];
}

function findExports(roots: string[]): string[] {
  const found = new Set<string>();
  const visit = (dir: string, depth: number) => {
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return;
    if (exportedIds(dir).length) { found.add(path.resolve(dir)); return; }
    if (depth === 0) return;
    for (const f of fs.readdirSync(dir)) {
      if (f.startsWith('.')) continue;
      visit(path.join(dir, f), depth - 1);
    }
  };
  for (const r of roots) visit(r, 3);
  return [...found];
}

/** Export directories named in the store's audit log (`export` events with details.out). */
function auditedExports(store: string): string[] {
  const log = auditLogPath(store);
  if (!fs.existsSync(log)) return [];
  const out: string[] = [];
  for (const line of fs.readFileSync(log, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      const e = JSON.parse(line);
      if (e.action === 'export' && e.details && typeof e.details.out === 'string') out.push(e.details.out);
    } catch {
      /* verify reports it */
    }
  }
  return out;
}

export interface PurgeOptions {
  now?: Date;
  /** Current consent manifests (files or directories) to read withdrawals and expiries from. */
  consents?: string[];
  /** Directories holding exported datasets (besides <store>/exports and audited export paths). */
  exports?: string[];
  /** Report what would be removed without removing anything. */
  dryRun?: boolean;
  actor?: string;
  /** Operator key for the keyed audit log (default: $REEL2REAL_PSEUDONYM_KEY). */
  key?: Buffer | Uint8Array;
}

export interface PurgeReport {
  store: string;
  dryRun: boolean;
  episodes: { id: string; reason: string; consent: string }[];
  /** Every file or directory removed (or that would be), absolute paths. */
  removed: string[];
  exports: { dir: string; episodes: string[] }[];
  kept: number;
}

/** Remove everything derived from recordings whose consent lapsed; returns what was (or would be) removed. */
export function purgeStore(storeDir: string, opts: PurgeOptions = {}): PurgeReport {
  const now = opts.now ?? new Date();
  const store = openStore(storeDir);
  const dir = store.dir;
  const manifests = [...storeConsents(dir), ...readConsents(opts.consents ?? [])];
  const byId = new Map<string, ConsentManifest[]>();
  for (const m of manifests) byId.set(m.consent_id, [...(byId.get(m.consent_id) ?? []), m]);

  const doomed: PurgeReport['episodes'] = [];
  const sourcesOf = new Map<string, string[]>();
  let kept = 0;
  for (const entry of store.list()) {
    const rec = store.record(entry.id);
    const c = rec.provenance.consent;
    let reason = consentLapsed({ consent_id: c.id, expires: c.expires ?? null, withdrawn: null }, now);
    for (const m of byId.get(c.id) ?? []) {
      reason = reason ?? consentLapsed(m, now);
      if (!reason && m.retention_days) {
        const created = Date.parse(rec.provenance.createdAt ?? entry.createdAt);
        if (Number.isFinite(created) && created + m.retention_days * 86_400_000 <= now.getTime()) {
          reason = `retention period of consent ${c.id} (${m.retention_days} days) is over`;
        }
      }
    }
    if (reason) {
      doomed.push({ id: entry.id, reason, consent: c.id });
      sourcesOf.set(entry.id, rec.provenance.sources.map((s) => s.sha256));
    } else kept++;
  }

  const removed: string[] = [];
  const exportsHit: PurgeReport['exports'] = [];
  const doomedIds = new Set(doomed.map((d) => d.id));
  const exportDirs = findExports([path.join(dir, 'exports'), ...(opts.exports ?? []), ...auditedExports(dir)]);
  // An export also goes when it holds an episode an earlier purge removed (the export was not known then).
  const purgedBefore = (id: string) => /^[0-9a-f]{64}$/.test(id) && (store.removal(id)?.reason ?? '').startsWith('privacy purge');
  for (const e of exportDirs) {
    const hit = exportedIds(e).filter((id) => doomedIds.has(id) || purgedBefore(id));
    if (hit.length) exportsHit.push({ dir: e, episodes: hit });
  }

  // Files named after an episode id or a source hash under videos/ and cache/.
  const derived: string[] = [];
  for (const sub of ['videos', 'cache', 'frames']) {
    const d = path.join(dir, sub);
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d)) {
      for (const ep of doomed) {
        const keys = [ep.id, ...(sourcesOf.get(ep.id) ?? [])];
        if (keys.some((k) => f === k || f.startsWith(k + '.') || f.startsWith(k + '_') || f.startsWith(k + '-'))) derived.push(path.join(d, f));
      }
    }
  }

  if (opts.dryRun) {
    return { store: dir, dryRun: true, episodes: doomed, removed: [...doomed.map((d) => store.episodeDir(d.id)), ...derived, ...exportsHit.map((e) => e.dir)], exports: exportsHit, kept };
  }
  for (const ep of doomed) {
    const epDir = store.episodeDir(ep.id);
    if (store.remove(ep.id, `privacy purge: ${ep.reason}`)) removed.push(epDir);
    appendAudit(dir, { action: 'purge', actor: opts.actor, episode: ep.id, recording: (sourcesOf.get(ep.id) ?? [])[0] ?? null, details: { reason: ep.reason, consent: ep.consent } }, opts.key);
  }
  for (const f of derived) {
    fs.rmSync(f, { recursive: true, force: true });
    removed.push(f);
  }
  for (const e of exportsHit) {
    // A dataset cannot keep part of its episodes without being rewritten: it goes as a whole (re-export the rest).
    fs.rmSync(e.dir, { recursive: true, force: true });
    removed.push(e.dir);
    appendAudit(dir, { action: 'purge-export', actor: opts.actor, details: { dir: e.dir, episodes: e.episodes } }, opts.key);
  }
  return { store: dir, dryRun: false, episodes: doomed, removed, exports: exportsHit, kept };
}
