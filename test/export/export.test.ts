import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { exportDataset } from '../../src/export/index.ts';
import { jointGroup } from '../../src/export/lerobot.ts';
import { exportedIds } from '../../src/privacy/purge.ts';
import { openStore, type EpisodeStore } from '../../src/store/store.ts';
import type { Episode } from '../../src/store/episode.ts';
import { UserError } from '../../src/errors.ts';
import { runCli } from '../helpers/cli.ts';
import { pythonWith, runPython } from '../helpers/python.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';
import { G1_JOINTS, syntheticEpisode, syntheticMotion } from '../store/fixtures.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-export-'));
const CHECKER = path.join(PROJECT_ROOT, 'test', 'export', 'lerobot_check.py');

async function readParquet(file: string): Promise<{ rows: Record<string, any>[]; meta: Awaited<ReturnType<typeof parquetMetadataAsync>> }> {
  const buf = await asyncBufferFromFile(file);
  const meta = await parquetMetadataAsync(buf);
  const rows = await parquetReadObjects({ file: buf, metadata: meta });
  return { rows, meta };
}

/** Leaf type of each top-level column, as the parquet schema declares it (list columns: 'LIST<leaf>'). */
function columnTypes(meta: Awaited<ReturnType<typeof parquetMetadataAsync>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const child of parquetSchema(meta).children) {
    const e = child.element;
    if (e.converted_type === 'LIST') {
      const leaf = child.children[0].children[0].element;
      out[e.name] = `LIST<${leaf.type}>`;
    } else out[e.name] = String(e.type);
  }
  return out;
}

describe('export', () => {
  let storeDir: string;
  let store: EpisodeStore;
  const stored = new Map<string, Episode>();
  let ids: string[];

  beforeAll(() => {
    storeDir = path.join(tmp(), 'store');
    store = openStore(storeDir, { create: true });
    // Three feasible episodes of two tasks and different lengths, one infeasible.
    const eps = [
      syntheticEpisode(1, 40, { task: 'wipe the table' }),
      syntheticEpisode(2, 55, { task: 'stack cups' }),
      syntheticEpisode(3, 33, { task: 'wipe the table' }),
      syntheticEpisode(4, 20, { task: 'wipe the table', feasible: false }),
    ];
    ids = eps.map((e) => {
      const id = store.put(e);
      stored.set(id, e);
      return id;
    });
  });

  it('writes LeRobot v3.0 that an independent parquet reader (hyparquet) reads back as declared', async () => {
    const out = path.join(tmp(), 'ds');
    const s = await exportDataset(storeDir, { format: 'lerobot-v3', out, onlyFeasible: true });
    expect(s.episodes).toBe(3);
    expect(s.frames).toBe(40 + 55 + 33);
    expect(s.skipped).toEqual([{ id: ids[3], reason: 'infeasible' }]);

    const info = JSON.parse(fs.readFileSync(path.join(out, 'meta/info.json'), 'utf8'));
    expect(info).toMatchObject({
      codebase_version: 'v3.0', robot_type: 'unitree_g1', fps: 30, total_episodes: 3, total_frames: 128, total_tasks: 2,
      chunks_size: 1000, data_path: 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet', splits: { train: '0:3' },
    });
    expect(info.features['observation.state']).toEqual({ dtype: 'float32', shape: [29], names: G1_JOINTS, fps: 30 });
    expect(info.features.timestamp).toEqual({ dtype: 'float32', shape: [1], names: null, fps: 30 });
    expect(info.features['quality.flags'].names).toEqual(['foot_slide', 'occluded']);

    const { rows, meta } = await readParquet(path.join(out, 'data/chunk-000/file-000.parquet'));
    const types = columnTypes(meta);
    // Every column is declared in info.json and every declared feature is a column, with the declared type.
    expect(Object.keys(types).sort()).toEqual(Object.keys(info.features).sort());
    for (const [k, f] of Object.entries<any>(info.features)) {
      const leaf = f.dtype === 'float32' ? 'FLOAT' : 'INT64';
      expect(types[k], k).toBe(f.shape[0] === 1 && f.names === null ? leaf : `LIST<${leaf}>`);
    }
    expect(meta.row_groups.length).toBe(3); // one row group per episode, as LeRobot writes
    expect(rows.length).toBe(128);

    // Episode boundaries from meta/episodes agree with the rows.
    const eps = (await readParquet(path.join(out, 'meta/episodes/chunk-000/file-000.parquet'))).rows;
    expect(eps.map((e) => Number(e.length))).toEqual([40, 55, 33]); // ordered by createdAt
    expect(eps.map((e) => e.tasks)).toEqual([['wipe the table'], ['stack cups'], ['wipe the table']]);
    expect(eps.map((e) => e['reel2real.id'])).toEqual(ids.slice(0, 3));
    let expectFrom = 0;
    for (const [k, e] of eps.entries()) {
      expect(Number(e.episode_index)).toBe(k);
      expect(Number(e.dataset_from_index)).toBe(expectFrom);
      expect(Number(e.dataset_to_index)).toBe(expectFrom + Number(e.length));
      expect(e['stats/observation.state/count']).toEqual([BigInt(e.length)]);
      const motion = stored.get(e['reel2real.id'])!.motion!;
      for (let t = 0; t < Number(e.length); t++) {
        const r = rows[expectFrom + t];
        expect(Number(r.episode_index)).toBe(k);
        expect(Number(r.frame_index)).toBe(t);
        expect(Number(r.index)).toBe(expectFrom + t);
        expect(Math.abs(r.timestamp - t / 30)).toBeLessThan(1e-6);
        // observation.state is the stored joint vector; action the next one.
        expect(r['observation.state']).toEqual(Array.from(motion.q.subarray(t * 29, t * 29 + 29)));
        const tn = Math.min(t + 1, Number(e.length) - 1);
        expect(r.action).toEqual(Array.from(motion.q.subarray(tn * 29, tn * 29 + 29)));
        expect(r['observation.root_quat']).toEqual(Array.from(motion.rootQuat.subarray(t * 4, t * 4 + 4)));
      }
      expectFrom += Number(e.length);
    }
    // Missing keypoint (NaN in the track, frame 3 joint 4 of each episode) is 0 with confidence 0.
    expect(rows[3]['observation.human_keypoints'].slice(12, 15)).toEqual([0, 0, 0]);
    expect(rows[3]['observation.human_keypoints_confidence'][4]).toBe(0);
    expect(rows[4]['observation.human_keypoints_confidence'][4]).toBeCloseTo(0.9, 6);
    // Quality flags carry the masks (names sorted: foot_slide, occluded).
    const ep1 = stored.get(ids[0])!;
    for (let t = 0; t < 40; t++) expect(rows[t]['quality.flags']).toEqual([ep1.masks!.foot_slide[t], ep1.masks!.occluded[t]]);

    const tasks = (await readParquet(path.join(out, 'meta/tasks.parquet'))).rows;
    expect(tasks.map((t) => [t.task, Number(t.task_index)])).toEqual([['wipe the table', 0], ['stack cups', 1]]);
    expect(rows[40].task_index).toBe(1n);

    const stats = JSON.parse(fs.readFileSync(path.join(out, 'meta/stats.json'), 'utf8'));
    expect(stats['observation.state'].count).toEqual([128]);
    const j = 7;
    const all = rows.map((r) => r['observation.state'][j] as number);
    expect(stats['observation.state'].min[j]).toBe(Math.min(...all));
    expect(stats['observation.state'].max[j]).toBe(Math.max(...all));
    expect(stats['observation.state'].mean[j]).toBeCloseTo(all.reduce((a, b) => a + b, 0) / all.length, 10);
    expect(stats.timestamp.max).toEqual([Math.fround(54 / 30)]);

    // The store's audit log names the export, and the privacy purge sees which episodes it holds.
    const audit = fs.readFileSync(path.join(storeDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(audit.filter((a) => a.action === 'export' && a.details.out === out)).toHaveLength(1);
    expect(exportedIds(out)).toEqual(ids.slice(0, 3));
  });

  it('LeRobot v3.0 rolls data files by size and the episode index points at the right file', async () => {
    const out = path.join(tmp(), 'ds');
    await exportDataset(storeDir, { format: 'lerobot-v3', out, dataFileSizeMb: 0.03 });
    const files = fs.readdirSync(path.join(out, 'data/chunk-000')).sort();
    expect(files.length).toBeGreaterThan(1);
    // meta/episodes rolls too; each row names its own meta file.
    const metaFiles = fs.readdirSync(path.join(out, 'meta/episodes/chunk-000')).sort();
    expect(metaFiles.length).toBeGreaterThan(1);
    const eps: Record<string, any>[] = [];
    for (const [k, f] of metaFiles.entries()) {
      const rows = (await readParquet(path.join(out, 'meta/episodes/chunk-000', f))).rows;
      for (const r of rows) expect([Number(r['meta/episodes/chunk_index']), Number(r['meta/episodes/file_index'])]).toEqual([0, k]);
      eps.push(...rows);
    }
    expect(eps.map((e) => Number(e.episode_index))).toEqual([0, 1, 2, 3]);
    for (const e of eps) {
      const f = path.join(out, `data/chunk-${String(e['data/chunk_index']).padStart(3, '0')}/file-${String(e['data/file_index']).padStart(3, '0')}.parquet`);
      const rows = (await readParquet(f)).rows.filter((r) => r.episode_index === e.episode_index);
      expect(rows.length).toBe(Number(e.length));
      expect(Number(rows[0].index)).toBe(Number(e.dataset_from_index));
    }
  });

  it('LeRobot v3.0 (one and several data files) and v2.1 load with pyarrow + datasets as LeRobot loads them, states equal to the store', async (ctx) => {
    const outs: string[] = [];
    for (const [format, mb] of [['lerobot-v3', undefined], ['lerobot-v3', 0.03], ['lerobot-v2.1', undefined]] as const) {
      const out = path.join(tmp(), format);
      await exportDataset(storeDir, { format, out, dataFileSizeMb: mb });
      outs.push(out);
    }
    expect(fs.readdirSync(path.join(outs[1], 'data/chunk-000')).length).toBeGreaterThan(1);
    checkWithPython(ctx, outs, 4);
  });

  it('LeRobot v2.1: one parquet per episode, JSON-lines metadata and GR00T modality.json', async () => {
    const out = path.join(tmp(), 'ds');
    await exportDataset(storeDir, { format: 'lerobot-v2.1', out, onlyFeasible: true });
    const info = JSON.parse(fs.readFileSync(path.join(out, 'meta/info.json'), 'utf8'));
    expect(info).toMatchObject({ codebase_version: 'v2.1', total_episodes: 3, total_frames: 128, total_chunks: 1, chunks_size: 1000 });
    expect(info.data_path).toBe('data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet');
    const lines = (f: string) => fs.readFileSync(path.join(out, 'meta', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines('episodes.jsonl')).toEqual([
      { episode_index: 0, tasks: ['wipe the table'], length: 40 },
      { episode_index: 1, tasks: ['stack cups'], length: 55 },
      { episode_index: 2, tasks: ['wipe the table'], length: 33 },
    ]);
    expect(lines('tasks.jsonl')).toEqual([{ task_index: 0, task: 'wipe the table' }, { task_index: 1, task: 'stack cups' }]);
    const st = lines('episodes_stats.jsonl');
    expect(st[1].episode_index).toBe(1);
    expect(st[1].stats.frame_index).toMatchObject({ min: [0], max: [54], count: [55] });
    for (let i = 0; i < 3; i++) {
      const { rows, meta } = await readParquet(path.join(out, `data/chunk-000/episode_${String(i).padStart(6, '0')}.parquet`));
      expect(Object.keys(columnTypes(meta)).sort()).toEqual(Object.keys(info.features).sort());
      expect(rows.every((r) => Number(r.episode_index) === i)).toBe(true);
      expect(rows.length).toBe([40, 55, 33][i]);
    }
    const modality = JSON.parse(fs.readFileSync(path.join(out, 'meta/modality.json'), 'utf8'));
    expect(modality.state.left_leg).toEqual({ start: 0, end: 6 });
    expect(modality.state.right_leg).toEqual({ start: 6, end: 12 });
    expect(modality.state.waist).toEqual({ start: 12, end: 15 });
    expect(modality.state.left_arm).toEqual({ start: 15, end: 22 });
    expect(modality.state.right_arm).toEqual({ start: 22, end: 29 });
    expect(modality.action.right_arm).toEqual({ start: 22, end: 29 });
    expect(modality.state.root_quat).toMatchObject({ start: 0, end: 4, original_key: 'observation.root_quat' });
    expect(modality.annotation['human.task_description'].original_key).toBe('task_index');
  });

  it('groups joints by body part from their names (G1 hands, H1 torso, T1 capitalised names)', () => {
    expect(jointGroup('left_hand_thumb_0_joint')).toBe('left_hand');
    expect(jointGroup('right_hand_index_1_joint')).toBe('right_hand');
    expect(jointGroup('torso_joint')).toBe('waist');
    expect(jointGroup('Left_Hip_Pitch')).toBe('left_leg');
    expect(jointGroup('Right_Elbow_Pitch')).toBe('right_arm');
    expect(jointGroup('AAHead_yaw')).toBe('head');
    expect(jointGroup('index_proximal_joint')).toBe('hand');
    expect(jointGroup('gripper')).toBe('other');
  });

  it('motion-npz: one .npz per clip that numpy loads, quaternion reordered to x,y,z,w', async (ctx) => {
    const out = path.join(tmp(), 'clips');
    const s = await exportDataset(storeDir, { format: 'motion-npz', out, onlyFeasible: true });
    expect(s.files).toEqual(['episode_000000.npz', 'episode_000001.npz', 'episode_000002.npz']);
    const meta = JSON.parse(fs.readFileSync(path.join(out, 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({ kind: 'reel2real-motion-npz', robot: 'unitree_g1', fps: 30, root_rot_order: 'xyzw', joint_names: G1_JOINTS });
    const py = pythonWith(['numpy']);
    if (!py) return ctx.skip('motion-npz numpy check: no Python with numpy');
    const res = JSON.parse(runPython(py, `
import json, sys, numpy as np
z = np.load(sys.argv[1])
m = json.loads(z["meta.json"])
print(json.dumps({"fps": float(z["fps"]), "fps_shape": list(z["fps"].shape), "dof": z["dof_pos"].tolist(), "dof_dtype": str(z["dof_pos"].dtype),
  "root_rot": z["root_rot"].tolist(), "root_pos": z["root_pos"].tolist(), "joint_names": m["joint_names"], "order": m["root_rot_order"],
  "id": m["episode_id"], "ts": z["timestamps"].tolist()}))
`, [path.join(out, 'episode_000001.npz')]));
    const m = stored.get(ids[1])!.motion!;
    expect(res.id).toBe(ids[1]);
    expect(res.fps).toBe(30);
    expect(res.fps_shape).toEqual([]);
    expect(res.dof_dtype).toBe('float32');
    expect(res.dof.flat()).toEqual(Array.from(m.q));
    expect(res.joint_names).toEqual(G1_JOINTS);
    expect(res.order).toBe('xyzw');
    for (let t = 0; t < 55; t++) {
      const [w, x, y, z] = Array.from(m.rootQuat.subarray(t * 4, t * 4 + 4));
      expect(res.root_rot[t]).toEqual([x, y, z, w]);
      expect(res.ts[t]).toBe(t / 30);
    }
    expect(res.root_pos.flat()).toEqual(Array.from(m.rootPos));
    expect(exportedIds(out)).toEqual(ids.slice(0, 3));
  });

  it('appends a separate hand model\'s joints to state/action, as the right hand in modality.json', async () => {
    const root = tmp();
    const s = openStore(path.join(root, 'store'), { create: true });
    const handNames = ['R_thumb_proximal_yaw_joint', 'R_thumb_proximal_pitch_joint', 'R_index_proximal_joint', 'R_middle_proximal_joint', 'R_ring_proximal_joint', 'R_pinky_proximal_joint'];
    const hands: Float32Array[] = [];
    for (const seed of [1, 2]) {
      const ep = syntheticEpisode(seed, 30);
      const hm = syntheticMotion(15, seed, 15, 'inspire_right'); // half the rate: sampled at the nearest frame
      const q = new Float32Array(15 * 6);
      for (let i = 0; i < q.length; i++) q[i] = 0.01 * i + seed;
      hands.push(q);
      ep.handMotion = { ...hm, q, jointNames: handNames, mapping: { kind: 'hand', side: 'right' } };
      s.put(ep);
    }
    const out = path.join(root, 'ds');
    const sum = await exportDataset(s.dir, { format: 'lerobot-v2.1', out });
    expect(sum.robot).toBe('unitree_g1+inspire_right');
    const info = JSON.parse(fs.readFileSync(path.join(out, 'meta/info.json'), 'utf8'));
    expect(info.features['observation.state'].names).toEqual([...G1_JOINTS, ...handNames]);
    const modality = JSON.parse(fs.readFileSync(path.join(out, 'meta/modality.json'), 'utf8'));
    expect(modality.state.right_hand).toEqual({ start: 29, end: 35 });
    expect(modality.action.right_arm).toEqual({ start: 22, end: 29 });
    const { rows } = await readParquet(path.join(out, 'data/chunk-000/episode_000000.parquet'));
    // Body frame t at t/30 s; hand frames at k/15 s: nearest is round(t/2) (ties to the later frame).
    const clips = (await exportDataset(s.dir, { format: 'motion-npz', out: path.join(root, 'npz') })).files.length;
    expect(clips).toBe(2);
    const order = JSON.parse(fs.readFileSync(path.join(out, 'meta/reel2real.json'), 'utf8')).episodes.map((e: any) => e.id);
    const q = hands[order[0] === s.list()[0].id ? 0 : 1];
    for (const t of [0, 1, 2, 7, 29]) {
      const k = Math.min(14, Math.round(t / 2 + 1e-9));
      expect(rows[t]['observation.state'].slice(29)).toEqual(Array.from(q.subarray(k * 6, k * 6 + 6)));
    }
  });

  it('resamples a motion with a dropped frame onto the 1/fps grid (LeRobot needs evenly spaced frames)', async () => {
    const root = tmp();
    const s = openStore(path.join(root, 'store'), { create: true });
    const ep = syntheticEpisode(7, 21);
    const m = ep.motion!;
    // Frames at k/30 s for k = 0..21 except 10 (dropped); joints move linearly in time.
    const kept = [...Array(22).keys()].filter((k) => k !== 10);
    m.timestamps = Float64Array.from(kept, (k) => 0.5 + k / 30);
    for (let i = 0; i < 21; i++) for (let j = 0; j < 29; j++) m.q[i * 29 + j] = (j + 1) * 0.1 * m.timestamps[i];
    s.put(ep);
    const out = path.join(root, 'ds');
    const sum = await exportDataset(s.dir, { format: 'lerobot-v3', out });
    expect(sum.frames).toBe(22);
    expect(sum.notes.join()).toMatch(/1 episode\(s\) with unevenly spaced frames resampled/);
    const { rows } = await readParquet(path.join(out, 'data/chunk-000/file-000.parquet'));
    expect(rows.length).toBe(22);
    for (const k of [0, 9, 10, 11, 21]) {
      expect(Math.abs(rows[k].timestamp - k / 30)).toBeLessThan(1e-6);
      const t = 0.5 + k / 30;
      rows[k]['observation.state'].forEach((v: number, j: number) => expect(v).toBeCloseTo((j + 1) * 0.1 * t, 5));
    }
    // Root orientation stays a unit quaternion.
    const rq = rows[10]['observation.root_quat'] as number[];
    expect(Math.hypot(...rq)).toBeCloseTo(1, 6);
  });

  it('is reproducible: the same episodes give byte-identical datasets, whatever store they come from', async () => {
    const root = tmp();
    // The same episodes put in another order into another store.
    const other = openStore(path.join(root, 'other'), { create: true });
    for (const id of [...ids].reverse()) other.put(stored.get(id)!);
    const outs = [path.join(root, 'a'), path.join(root, 'b')];
    await exportDataset(storeDir, { format: 'lerobot-v3', out: outs[0] });
    await exportDataset(other.dir, { format: 'lerobot-v3', out: outs[1] });
    const files = (d: string): string[] => fs.readdirSync(d, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(d, f)).isFile()).sort();
    expect(files(outs[1])).toEqual(files(outs[0]));
    for (const f of files(outs[0])) expect(fs.readFileSync(path.join(outs[1], f)).equals(fs.readFileSync(path.join(outs[0], f))), f).toBe(true);
  });

  it('merges several stores (shards) into one dataset, each episode once', async () => {
    const root = tmp();
    const a = openStore(path.join(root, 'shard-0'), { create: true });
    const b = openStore(path.join(root, 'shard-1'), { create: true });
    a.put(syntheticEpisode(11, 30));
    a.put(syntheticEpisode(12, 30));
    b.put(syntheticEpisode(12, 30)); // the same episode in both shards (a rerun)
    b.put(syntheticEpisode(13, 30));
    const out = path.join(root, 'merged');
    const r = runCli(['export', a.dir, b.dir, '--format', 'lerobot-v3', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ episodes: 3, frames: 90 });
    const eps = (await readParquet(path.join(out, 'meta/episodes/chunk-000/file-000.parquet'))).rows;
    expect(new Set(eps.map((e) => e['reel2real.id'])).size).toBe(3);
  });

  it('refuses mixed robots without --robot, an existing output, and leaves no partial output', async () => {
    const root = tmp();
    const s = openStore(path.join(root, 'store'), { create: true });
    s.put(syntheticEpisode(1, 20));
    s.put(syntheticEpisode(2, 20, { robot: 'unitree_h1' }));
    const out = path.join(root, 'out');
    await expect(exportDataset(s.dir, { format: 'lerobot-v3', out })).rejects.toThrow(/several robots.*--robot/);
    expect(fs.existsSync(out)).toBe(false);
    const ok = await exportDataset(s.dir, { format: 'lerobot-v3', out, robot: 'unitree_h1' });
    expect(ok.episodes).toBe(1);
    await expect(exportDataset(s.dir, { format: 'lerobot-v3', out, robot: 'unitree_h1' })).rejects.toThrow(UserError);
    const again = await exportDataset(s.dir, { format: 'lerobot-v2.1', out, robot: 'unitree_g1', overwrite: true });
    expect(again.episodes).toBe(1);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'meta/info.json'), 'utf8')).robot_type).toBe('unitree_g1');
    expect(fs.readdirSync(root).sort()).toEqual(['out', 'store']); // no temp directories left beside it
    const cli = runCli(['export', s.dir, '--format', 'lerobot-v3', '--out', path.join(root, 'x')]);
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim().split('\n')).toHaveLength(1);
    expect(cli.stderr).toMatch(/^reel2real: .*several robots/);
    const byTask = runCli(['export', storeDir, '--format', 'motion-npz', '--out', path.join(root, 'z'), '--task', 'stack cups', '--json']);
    expect(byTask.code).toBe(0);
    expect(JSON.parse(byTask.stdout)).toMatchObject({ episodes: 1, tasks: ['stack cups'] });
    const feasibleOnly = runCli(['export', s.dir, '--format', 'motion-npz', '--out', path.join(root, 'y'), '--robot', 'nobot']);
    expect(feasibleOnly.code).toBe(1);
    expect(feasibleOnly.stderr).toMatch(/no episodes to export/);
  });

  /** Load with pyarrow + datasets as LeRobot does (one Python process for all) and compare the states with the store. */
  function checkWithPython(ctx: TestContext, outs: string[], nEpisodes: number): void {
    const py = pythonWith(['pyarrow', 'datasets', 'pandas', 'numpy']);
    if (!py) return ctx.skip('LeRobot-style load with pyarrow + datasets: no Python with pyarrow, datasets, pandas (pip install pyarrow datasets pandas)');
    const results = JSON.parse(runPython(py, fs.readFileSync(CHECKER, 'utf8'), outs).trim().split('\n').pop()!);
    expect(results.length).toBe(outs.length);
    outs.forEach((out, k) => {
      const res = results[k];
      expect(res.problems, out).toEqual([]);
      expect(res.episodes.length).toBe(nEpisodes);
      const reel = JSON.parse(fs.readFileSync(path.join(out, 'meta/reel2real.json'), 'utf8'));
      for (const e of res.episodes) {
        const motion = stored.get(reel.episodes[e.episode_index].id)!.motion!;
        expect(e.state.flat()).toEqual(Array.from(motion.q));
        expect(e.root_quat.flat()).toEqual(Array.from(motion.rootQuat));
        const T = motion.timestamps.length;
        // action = next frame's state (last repeats)
        expect(e.action[T - 1]).toEqual(e.state[T - 1]);
        expect(e.action[0]).toEqual(e.state[1]);
      }
    });
  }
});
