/**
 * Export stored episodes as a training dataset: LeRobot v3.0, LeRobot v2.1 (+ GR00T modality.json), or
 * per-clip motion .npz files. Several stores can be exported as one dataset (merging the shards of a batch
 * run): episodes are taken once each (ids are content hashes), ordered by creation time then id.
 *
 * The output directory is built beside its target and renamed into place: a failed export leaves nothing.
 * Each source store's audit log (<store>/audit.jsonl) gets an `export` event naming the output directory, so
 * a privacy purge can find and remove exported copies of purged episodes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.ts';
import { writeDirAtomic } from '../io/atomic.ts';
import { appendAudit, auditKey } from '../privacy/audit.ts';
import { openStore } from '../store/store.ts';
import { isUniform, makeLayout, probeEpisode, resampleMotion, type SelectedEpisode } from './frames.ts';
import type { Episode, IndexEntry } from '../store/episode.ts';
import { writeLerobotV21, writeLerobotV3, type DatasetInput } from './lerobot.ts';
import { writeMotionNpz } from './motion-npz.ts';

export const EXPORT_FORMATS = ['lerobot-v3', 'lerobot-v2.1', 'motion-npz'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions {
  format: ExportFormat;
  out: string;
  /** Only episodes of this robot (motion.robot.name). Required when the stores hold several robots. */
  robot?: string;
  /** Only episodes whose validation says feasible: true. */
  onlyFeasible?: boolean;
  /** Only episodes of these tasks (exact task text). */
  tasks?: string[];
  /** Replace an existing output directory. */
  overwrite?: boolean;
  /** Task text for episodes whose provenance has none (default "unlabeled"). */
  defaultTask?: string;
  /** LeRobot v3: roll data files at this many MB (default 100, as LeRobot). */
  dataFileSizeMb?: number;
  /** Who exports, for the stores' audit logs (default: the OS user, as the audit log does). */
  actor?: string;
  /** Operator key for the stores' keyed audit logs (default: $REEL2REAL_PSEUDONYM_KEY). */
  key?: Buffer | Uint8Array;
}

export interface ExportSummary {
  format: ExportFormat;
  out: string;
  robot: string;
  fps: number;
  episodes: number;
  frames: number;
  tasks: string[];
  features: string[];
  files: string[];
  /** Episodes left out, and why. */
  skipped: { id: string; reason: string }[];
  /** Features left out, and why. */
  notes: string[];
}

/** Pick the episodes to export from one or more stores (loading each once to learn its shape). */
export function selectEpisodes(stores: string[], opts: Pick<ExportOptions, 'robot' | 'onlyFeasible' | 'tasks'>): {
  selected: SelectedEpisode[]; skipped: ExportSummary['skipped']; robot: string; load: (i: number) => Episode; notes: string[];
} {
  const seen = new Set<string>();
  const candidates: { store: string; entry: IndexEntry }[] = [];
  const skipped: ExportSummary['skipped'] = [];
  const opened = new Map(stores.map((s) => [s, openStore(s)] as const));
  for (const [dir, store] of opened) {
    for (const entry of store.list()) {
      if (seen.has(entry.id)) continue;
      seen.add(entry.id);
      if (!entry.robot) { skipped.push({ id: entry.id, reason: 'no robot motion' }); continue; }
      if (entry.frames === 0) { skipped.push({ id: entry.id, reason: 'no frames' }); continue; }
      if (opts.robot && entry.robot !== opts.robot) { skipped.push({ id: entry.id, reason: `robot ${entry.robot}` }); continue; }
      if (opts.tasks?.length && !opts.tasks.includes(entry.task ?? '')) { skipped.push({ id: entry.id, reason: 'other task' }); continue; }
      if (opts.onlyFeasible && entry.feasible !== true) {
        skipped.push({ id: entry.id, reason: entry.feasible === false ? 'infeasible' : 'feasibility unknown' });
        continue;
      }
      candidates.push({ store: dir, entry });
    }
  }
  const robots = [...new Set(candidates.map((c) => c.entry.robot!))];
  if (robots.length > 1) {
    throw new UserError(`the stores hold episodes of several robots (${robots.sort().join(', ')}); choose one with --robot`);
  }
  candidates.sort((a, b) => (a.entry.createdAt < b.entry.createdAt ? -1 : a.entry.createdAt > b.entry.createdAt ? 1 : a.entry.id < b.entry.id ? -1 : 1));
  // Frames of a dataset are 1/fps apart: a motion whose frames are not is resampled onto that grid.
  let resampled = 0;
  const load = (c: { store: string; entry: IndexEntry }, count = false) => {
    const ep = opened.get(c.store)!.get(c.entry.id);
    const m = ep.motion!;
    if (!isUniform(m.timestamps, m.fps)) {
      ep.motion = resampleMotion(m);
      if (count) resampled++;
    }
    return ep;
  };
  const selected = candidates.map((c) => {
    const ep = load(c, true);
    return { id: c.entry.id, entry: c.entry, store: c.store, provenance: ep.provenance, urdfSha256: ep.motion!.robot.urdf_sha256, probe: probeEpisode(ep) };
  });
  const notes = resampled ? [`${resampled} episode(s) with unevenly spaced frames resampled to a uniform frame rate`] : [];
  return { selected, skipped, robot: robots[0] ?? '', load: (i) => load(candidates[i]), notes };
}

/** Export the episodes of `stores` (one store directory or several) in the given format. */
export async function exportDataset(stores: string | string[], opts: ExportOptions): Promise<ExportSummary> {
  const list = Array.isArray(stores) ? stores : [stores];
  if (!list.length) throw new UserError('name at least one store');
  if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format)) {
    throw new UserError(`unknown format "${opts.format}" (one of ${EXPORT_FORMATS.join(', ')})`);
  }
  const out = path.resolve(opts.out);
  // The export is logged in each store's keyed audit log: know the key before anything is written.
  const key = auditKey(opts.key);
  for (const s of list) {
    const abs = path.resolve(s);
    if (out === abs || out.startsWith(abs + path.sep)) throw new UserError('the output directory must not be inside a store', opts.out);
  }
  if (fs.existsSync(out) && !opts.overwrite) throw new UserError('already exists (use --overwrite to replace it)', opts.out);

  const { selected, skipped, robot, load, notes } = selectEpisodes(list, opts);
  if (!selected.length) {
    throw new UserError(`no episodes to export${skipped.length ? ` (${skipped.length} left out: ${[...new Set(skipped.map((s) => s.reason))].join(', ')})` : ''}`, list.join(', '));
  }
  const layout = makeLayout(selected, robot);
  const tasks: string[] = [];
  const taskOf = selected.map((e) => {
    const t = e.provenance.task ?? opts.defaultTask ?? 'unlabeled';
    let k = tasks.indexOf(t);
    if (k < 0) { k = tasks.length; tasks.push(t); }
    return k;
  });
  const input: DatasetInput = { layout, episodes: selected, load, taskOf, tasks };
  let files: string[] = [];
  await writeDirAtomic(out, (dir) => {
    if (opts.format === 'lerobot-v3') files = writeLerobotV3(dir, input, { dataFileSizeMb: opts.dataFileSizeMb });
    else if (opts.format === 'lerobot-v2.1') files = writeLerobotV21(dir, input);
    else files = writeMotionNpz(dir, input);
    // Each source store's audit log records where its episodes went (a privacy purge finds the copies
    // there), before the output appears: no export exists that the logs do not name.
    for (const s of new Set(selected.map((e) => e.store))) {
      appendAudit(s, {
        action: 'export',
        actor: opts.actor,
        details: { out, format: opts.format, episodes: selected.filter((e) => e.store === s).length, robot: layout.robot },
      }, key);
    }
  }, { replace: opts.overwrite });
  return {
    format: opts.format,
    out,
    robot: layout.robot,
    fps: layout.fps,
    episodes: selected.length,
    frames: selected.reduce((a, e) => a + e.probe.frames, 0),
    tasks,
    features: Object.keys(layout.features),
    files,
    skipped,
    notes: [...notes, ...layout.notes],
  };
}
