/**
 * LeRobot dataset writers: v3.0 (LeRobot's current format: many episodes per parquet file, episode
 * boundaries in meta/episodes/*.parquet) and v2.1 (one parquet per episode, JSON-lines metadata, as GR00T
 * and older openpi read it) with GR00T's meta/modality.json.
 *
 * Paths, file names and metadata fields follow LeRobot's own code (lerobot/datasets/utils.py,
 * lerobot_dataset.py) for the respective codebase versions.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeParquet, type Column } from './parquet.ts';
import {
  aggregateStats, episodeFrames, episodeStats, featureWidth, STAT_KEYS,
  type EpisodeFrames, type FeatureStats, type Layout, type SelectedEpisode,
} from './frames.ts';
import type { Episode } from '../store/episode.ts';

export const CHUNKS_SIZE = 1000;
export const DATA_FILES_SIZE_IN_MB = 100;
export const VIDEO_FILES_SIZE_IN_MB = 500;
export const V3_DATA_PATH = 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet';
export const V21_DATA_PATH = 'data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet';

export interface DatasetInput {
  layout: Layout;
  episodes: SelectedEpisode[];
  /** Load episode i (the writers load a few at a time, so exports larger than memory work). */
  load: (i: number) => Episode;
  /** Task of each episode, as an index into `tasks`. */
  taskOf: number[];
  tasks: string[];
}

/** Dataset-wide index of each episode's first frame, and the total. */
function firstIndices(input: DatasetInput): { index0: number[]; total: number } {
  const index0: number[] = [];
  let total = 0;
  for (const e of input.episodes) { index0.push(total); total += e.probe.frames; }
  return { index0, total };
}

/** The frame columns of episode i. */
export function framesOf(input: DatasetInput, i: number, index0: number): EpisodeFrames {
  const fr = episodeFrames(input.layout, input.load(i), i, index0, input.taskOf[i]);
  if (fr.length !== input.episodes[i].probe.frames) throw new Error(`episode ${input.episodes[i].id} changed while exporting`);
  return fr;
}

function writeJson(file: string, obj: unknown, indent = 4): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(obj, null, indent) + '\n');
}

function writeBytes(file: string, data: Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** The frame columns of several episodes concatenated, as parquet columns in feature order. */
function frameColumns(layout: Layout, frames: EpisodeFrames[]): Column[] {
  return Object.entries(layout.features).map(([key, f]) => {
    const parts = frames.map((e) => e.columns[key]);
    const total = parts.reduce((a, p) => a + p.length, 0);
    const isInt = f.dtype === 'int64';
    const flat = isInt ? new BigInt64Array(total) : new Float32Array(total);
    let o = 0;
    for (const p of parts) { (flat as Float32Array).set(p as Float32Array, o); o += p.length; }
    const scalar = f.shape.length === 1 && f.shape[0] === 1;
    if (scalar) return { name: key, kind: isInt ? 'int64' : 'float32', data: flat } as Column;
    return { name: key, kind: isInt ? 'list<int64>' : 'list<float32>', data: flat, width: featureWidth(f) } as Column;
  });
}

/** info.json `features`: dtype, shape, names of every column (and its fps, as recent LeRobot writers add). */
function infoFeatures(layout: Layout): Record<string, { dtype: string; shape: number[]; names: string[] | null; fps: number }> {
  const out: Record<string, { dtype: string; shape: number[]; names: string[] | null; fps: number }> = {};
  for (const [k, f] of Object.entries(layout.features)) out[k] = { dtype: f.dtype, shape: [...f.shape], names: f.names ? [...f.names] : null, fps: layout.fps };
  return out;
}

/** Provenance of every exported episode, and the conventions a reader needs, in meta/reel2real.json. */
function reel2realMeta(format: string, input: DatasetInput): unknown {
  return {
    kind: 'reel2real-export',
    format,
    robot: input.layout.robot,
    fps: input.layout.fps,
    conventions: {
      'observation.state': 'robot joint positions in features.names order (radians for revolute joints, metres for prismatic); with the physics stage on, the simulated physically consistent motion',
      'observation.reference_state': 'the kinematic retarget the physics stage corrected (same joints as observation.state\'s body part)',
      action: 'joint position targets: the next frame\'s observation.state (the last frame repeats its own)',
      'observation.root_pos': 'root link position in metres, world frame, Z up',
      'observation.root_quat': 'root link orientation quaternion, order (w, x, y, z)',
      'observation.human_keypoints': 'human pose track joints in metres (world, Z up), flattened (j.x, j.y, j.z); missing = 0 with confidence 0',
      'quality.flags': 'per-frame quality masks, 1 = flagged',
      timestamp: 'frame_index / fps exactly',
    },
    episodes: input.episodes.map((e, i) => ({
      episode_index: i,
      id: e.id,
      task: input.tasks[input.taskOf[i]],
      contributor: e.provenance.contributor,
      consent: e.provenance.consent,
      sources: e.provenance.sources,
      created_at: e.provenance.createdAt ?? null,
      feasible: e.entry.feasible ?? null,
      verdict: e.entry.verdict ?? null,
      urdf_sha256: e.urdfSha256,
    })),
  };
}

function statsJson(stats: Record<string, FeatureStats>): Record<string, Record<string, number[]>> {
  const out: Record<string, Record<string, number[]>> = {};
  for (const [k, s] of Object.entries(stats)) {
    out[k] = {};
    for (const sk of STAT_KEYS) out[k][sk] = s[sk];
  }
  return out;
}

/** tasks.parquet as pandas writes a DataFrame indexed by task text with a task_index column. */
function tasksParquet(tasks: string[]): Uint8Array {
  const pandasMeta = {
    index_columns: ['task'],
    column_indexes: [{ name: null, field_name: null, pandas_type: 'unicode', numpy_type: 'object', metadata: { encoding: 'UTF-8' } }],
    columns: [
      { name: 'task_index', field_name: 'task_index', pandas_type: 'int64', numpy_type: 'int64', metadata: null },
      { name: 'task', field_name: 'task', pandas_type: 'unicode', numpy_type: 'object', metadata: null },
    ],
    creator: { library: 'reel2real', version: '0.1.0' },
    pandas_version: '2.2.3',
  };
  return encodeParquet([
    { name: 'task_index', kind: 'int64', data: tasks.map((_, i) => i) },
    { name: 'task', kind: 'string', data: tasks },
  ], { kv: { pandas: JSON.stringify(pandasMeta) } });
}

/**
 * Assign items (episodes) of the given byte sizes to chunk-CCC/file-FFF files of at most `limitMb` each,
 * in order, never splitting an item: a new file when the next item would pass the limit (LeRobot's
 * rolling), 1000 files per chunk directory (update_chunk_file_indices).
 */
export function packFiles(sizes: number[], limitMb: number): { fileOf: { chunk: number; file: number }[]; groups: number[][] } {
  const fileOf: { chunk: number; file: number }[] = [];
  const groups: number[][] = [];
  let chunk = 0;
  let file = 0;
  let bytes = 0;
  sizes.forEach((add, i) => {
    if (!groups.length) {
      groups.push([]);
    } else if (bytes > 0 && bytes + add > limitMb * 1024 * 1024) {
      if (file === CHUNKS_SIZE - 1) { chunk++; file = 0; } else file++;
      bytes = 0;
      groups.push([]);
    }
    groups[groups.length - 1].push(i);
    fileOf[i] = { chunk, file };
    bytes += add;
  });
  return { fileOf, groups };
}

/** Write a LeRobot v3.0 dataset into `dir` (an empty directory). Returns the data files written. */
export function writeLerobotV3(dir: string, input: DatasetInput, opts: { dataFileSizeMb?: number; metaFileSizeMb?: number } = {}): string[] {
  const { layout } = input;
  const n = input.episodes.length;
  const limitMb = opts.dataFileSizeMb ?? DATA_FILES_SIZE_IN_MB;
  const bytesPerFrame = Object.values(layout.features).reduce((a, f) => a + featureWidth(f) * (f.dtype === 'int64' ? 8 : 4), 0);
  const { index0, total } = firstIndices(input);

  // Pack whole episodes into data files of at most ~limitMb (uncompressed), as LeRobot rolls its files.
  const { fileOf, groups } = packFiles(input.episodes.map((e) => e.probe.frames * bytesPerFrame), limitMb);
  // One data file at a time: only its episodes are in memory.
  const written: string[] = [];
  const perEp: Record<string, FeatureStats>[] = [];
  for (const g of groups) {
    const { chunk: c, file: f } = fileOf[g[0]];
    const rel = `data/chunk-${pad(c, 3)}/file-${pad(f, 3)}.parquet`;
    const eps = g.map((i) => framesOf(input, i, index0[i]));
    for (const fr of eps) perEp.push(episodeStats(layout, fr));
    writeBytes(path.join(dir, rel), encodeParquet(frameColumns(layout, eps), { rowGroups: eps.map((e) => e.length) }));
    written.push(rel);
  }

  // meta/episodes: one row per episode with its file, its frame range and its statistics; rolled into
  // several files like the data when it grows past the size limit.
  const lengths = input.episodes.map((e) => e.probe.frames);
  const statBytes = Object.values(layout.features).reduce((a, f) => a + featureWidth(f) * 8 * STAT_KEYS.length, 0);
  const meta = packFiles(lengths.map(() => statBytes + 256), opts.metaFileSizeMb ?? limitMb);
  for (const g of meta.groups) {
    const cols: Column[] = [
      { name: 'episode_index', kind: 'int64', data: g },
      { name: 'tasks', kind: 'list<string>', data: g.map((i) => [input.tasks[input.taskOf[i]]]) },
      { name: 'length', kind: 'int64', data: g.map((i) => lengths[i]) },
      { name: 'data/chunk_index', kind: 'int64', data: g.map((i) => fileOf[i].chunk) },
      { name: 'data/file_index', kind: 'int64', data: g.map((i) => fileOf[i].file) },
      { name: 'dataset_from_index', kind: 'int64', data: g.map((i) => index0[i]) },
      { name: 'dataset_to_index', kind: 'int64', data: g.map((i) => index0[i] + lengths[i]) },
    ];
    for (const key of Object.keys(layout.features)) {
      for (const sk of STAT_KEYS) {
        cols.push(sk === 'count'
          ? { name: `stats/${key}/${sk}`, kind: 'list<int64>', data: g.map((i) => perEp[i][key][sk]) }
          : { name: `stats/${key}/${sk}`, kind: 'list<float64>', data: g.map((i) => perEp[i][key][sk]) });
      }
    }
    const { chunk: c, file: f } = meta.fileOf[g[0]];
    cols.push(
      { name: 'meta/episodes/chunk_index', kind: 'int64', data: g.map(() => c) },
      { name: 'meta/episodes/file_index', kind: 'int64', data: g.map(() => f) },
      { name: 'reel2real.id', kind: 'string', data: g.map((i) => input.episodes[i].id) },
    );
    writeBytes(path.join(dir, `meta/episodes/chunk-${pad(c, 3)}/file-${pad(f, 3)}.parquet`), encodeParquet(cols));
  }
  writeBytes(path.join(dir, 'meta/tasks.parquet'), tasksParquet(input.tasks));
  writeJson(path.join(dir, 'meta/stats.json'), statsJson(aggregateStats(perEp)));
  writeJson(path.join(dir, 'meta/info.json'), {
    codebase_version: 'v3.0',
    robot_type: layout.robot,
    total_episodes: n,
    total_frames: total,
    total_tasks: input.tasks.length,
    chunks_size: CHUNKS_SIZE,
    data_files_size_in_mb: limitMb,
    video_files_size_in_mb: VIDEO_FILES_SIZE_IN_MB,
    fps: layout.fps,
    splits: { train: `0:${n}` },
    data_path: V3_DATA_PATH,
    video_path: null,
    features: infoFeatures(layout),
  });
  writeJson(path.join(dir, 'meta/reel2real.json'), reel2realMeta('lerobot-v3', input), 1);
  return written;
}

// ---- v2.1 + GR00T -----------------------------------------------------------------------------------

const BODY_GROUPS: [string, RegExp][] = [
  ['left_leg', /^(l|left)[_-]?.*(hip|knee|ankle|foot|toe|leg)/i],
  ['right_leg', /^(r|right)[_-]?.*(hip|knee|ankle|foot|toe|leg)/i],
  ['waist', /(waist|torso|trunk|spine|chest|abdomen|pelvis)/i],
  ['head', /(head|neck)/i],
  ['left_hand', /^(l|left)[_-]?.*(hand|thumb|index|middle|ring|pinky|little|finger|palm)/i],
  ['right_hand', /^(r|right)[_-]?.*(hand|thumb|index|middle|ring|pinky|little|finger|palm)/i],
  ['left_arm', /^(l|left)[_-]?.*(shoulder|elbow|wrist|arm)/i],
  ['right_arm', /^(r|right)[_-]?.*(shoulder|elbow|wrist|arm)/i],
  ['hand', /(thumb|index|middle|ring|pinky|little|finger|palm)/i],
];

/** Body-part group of a joint from its name: legs, waist, head, arms, left/right hand, hand; else 'other'. */
export function jointGroup(name: string): string {
  for (const [g, re] of BODY_GROUPS) if (re.test(name)) return g;
  return 'other';
}

/**
 * GR00T's modality.json: state/action index ranges per body part, from the joint names. A group whose joints
 * are not contiguous gets one range per run (`left_arm`, `left_arm_2`, ...).
 */
export function modalityJson(layout: Layout): Record<string, unknown> {
  const ranges: Record<string, { start: number; end: number }> = {};
  const names = layout.jointNames;
  // Joints of a separate hand model are that hand's, whatever their names say.
  const handGroup = layout.handSide ? `${layout.handSide}_hand` : 'hand';
  const robotGroup = layout.robotHandSide !== null ? (layout.robotHandSide ? `${layout.robotHandSide}_hand` : 'hand') : null;
  const group = (k: number) => (k >= layout.bodyJoints ? handGroup : robotGroup ?? jointGroup(names[k]));
  let i = 0;
  while (i < names.length) {
    const g = group(i);
    let j = i + 1;
    while (j < names.length && group(j) === g) j++;
    let key = g;
    for (let k = 2; key in ranges; k++) key = `${g}_${k}`;
    ranges[key] = { start: i, end: j };
    i = j;
  }
  const state: Record<string, unknown> = { ...ranges };
  state.root_pos = { start: 0, end: 3, original_key: 'observation.root_pos' };
  state.root_quat = { start: 0, end: 4, original_key: 'observation.root_quat', rotation_type: 'quaternion' };
  const out: Record<string, unknown> = {
    state,
    action: { ...ranges },
    annotation: { 'human.task_description': { original_key: 'task_index' } },
  };
  return out;
}

/** Write a LeRobot v2.1 dataset (with GR00T's modality.json) into `dir`. Returns the data files written. */
export function writeLerobotV21(dir: string, input: DatasetInput): string[] {
  const { layout } = input;
  const n = input.episodes.length;
  const { index0, total } = firstIndices(input);
  const written: string[] = [];
  const epLines: string[] = [];
  const statLines: string[] = [];
  const perEp: Record<string, FeatureStats>[] = [];
  for (let i = 0; i < n; i++) {
    const fr = framesOf(input, i, index0[i]);
    const rel = `data/chunk-${pad(Math.floor(i / CHUNKS_SIZE), 3)}/episode_${pad(i, 6)}.parquet`;
    writeBytes(path.join(dir, rel), encodeParquet(frameColumns(layout, [fr])));
    written.push(rel);
    const st = episodeStats(layout, fr);
    perEp.push(st);
    epLines.push(JSON.stringify({ episode_index: i, tasks: [input.tasks[input.taskOf[i]]], length: fr.length }));
    statLines.push(JSON.stringify({ episode_index: i, stats: statsJson(st) }));
  }
  fs.mkdirSync(path.join(dir, 'meta'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'meta/episodes.jsonl'), epLines.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'meta/episodes_stats.jsonl'), statLines.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'meta/tasks.jsonl'), input.tasks.map((t, i) => JSON.stringify({ task_index: i, task: t })).join('\n') + '\n');
  writeJson(path.join(dir, 'meta/stats.json'), statsJson(aggregateStats(perEp)));
  writeJson(path.join(dir, 'meta/modality.json'), modalityJson(layout));
  writeJson(path.join(dir, 'meta/info.json'), {
    codebase_version: 'v2.1',
    robot_type: layout.robot,
    total_episodes: n,
    total_frames: total,
    total_tasks: input.tasks.length,
    total_videos: 0,
    total_chunks: Math.max(1, Math.ceil(n / CHUNKS_SIZE)),
    chunks_size: CHUNKS_SIZE,
    fps: layout.fps,
    splits: { train: `0:${n}` },
    data_path: V21_DATA_PATH,
    video_path: null,
    features: infoFeatures(layout),
  });
  writeJson(path.join(dir, 'meta/reel2real.json'), reel2realMeta('lerobot-v2.1', input), 1);
  return written;
}
