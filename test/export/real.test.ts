/**
 * Store and export an episode made by the project's real components from real data: MediaPipe hand world
 * landmarks (../shared/data/keypoints) imported as a pose track, assessed by the quality gate, retargeted onto
 * the real Inspire hand URDF; then stored, exported as LeRobot v3.0 / v2.1 and loaded as LeRobot does.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { importPose } from '../../src/pose/import.ts';
import { retargetHand } from '../../src/retarget/hand/index.ts';
import { assessQuality, reportToJson } from '../../src/quality/index.ts';
import { openStore } from '../../src/store/store.ts';
import { exportDataset } from '../../src/export/index.ts';
import type { Episode } from '../../src/store/episode.ts';
import { describeShared, shared, PROJECT_ROOT } from '../helpers/shared.ts';
import { pythonWith, runPython } from '../helpers/python.ts';

const KEYPOINTS = 'keypoints/dex_retargeting_human_joint_right.npy';
const HAND = 'hands/inspire_right/inspire_hand_right.urdf';

describeShared('store + export of a real retargeted hand episode', [KEYPOINTS, HAND], () => {
  it('round-trips through the store and loads as a LeRobot dataset with the retargeted joints', async (ctx) => {
    const kp = shared(KEYPOINTS);
    const track = importPose(kp);
    const motion = retargetHand(track, shared(HAND));
    const quality = assessQuality(track);
    const ep: Episode = {
      provenance: {
        contributor: 'f'.repeat(64),
        consent: { id: 'test-consent', version: '1', scopes: ['robot-training'] },
        task: 'move the fingers',
        sources: [{ file: path.basename(kp), sha256: createHash('sha256').update(fs.readFileSync(kp)).digest('hex') }],
      },
      track, motion, quality: reportToJson(quality), masks: quality.masks,
    };
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-real-'));
    const store = openStore(path.join(root, 'store'), { create: true });
    const id = store.put(ep);
    expect(store.put(ep)).toBe(id);
    const back = store.get(id);
    expect(Array.from(back.motion!.q)).toEqual(Array.from(motion.q));
    expect(Object.keys(back.masks!).sort()).toEqual(Object.keys(quality.masks).sort());
    expect(store.verify().ok).toBe(true);

    const T = motion.timestamps.length;
    const n = motion.jointNames.length;
    const v3 = path.join(root, 'v3');
    const sum = await exportDataset(store.dir, { format: 'lerobot-v3', out: v3 });
    expect(sum).toMatchObject({ episodes: 1, frames: T, robot: 'inspire_hand_right' });
    const info = JSON.parse(fs.readFileSync(path.join(v3, 'meta/info.json'), 'utf8'));
    expect(info.features['observation.state'].names).toEqual(motion.jointNames);
    expect(info.features['observation.human_keypoints'].shape).toEqual([track.jointNames.length * 3]);
    const rows = await parquetReadObjects({ file: await asyncBufferFromFile(path.join(v3, 'data/chunk-000/file-000.parquet')) });
    expect(rows.length).toBe(T);
    for (const t of [0, Math.floor(T / 2), T - 1]) {
      expect(rows[t]['observation.state']).toEqual(Array.from(motion.q.subarray(t * n, t * n + n)));
      expect(Math.abs(rows[t].timestamp - t / motion.fps)).toBeLessThan(1e-6);
    }

    const v21 = path.join(root, 'v21');
    await exportDataset(store.dir, { format: 'lerobot-v2.1', out: v21 });
    const modality = JSON.parse(fs.readFileSync(path.join(v21, 'meta/modality.json'), 'utf8'));
    expect(modality.state.right_hand).toEqual({ start: 0, end: n }); // the robot is a right hand

    const py = pythonWith(['pyarrow', 'datasets', 'pandas', 'numpy']);
    if (!py) return ctx.skip('LeRobot-style load of the real episode: no Python with pyarrow, datasets, pandas');
    const checker = fs.readFileSync(path.join(PROJECT_ROOT, 'test/export/lerobot_check.py'), 'utf8');
    for (const res of JSON.parse(runPython(py, checker, [v3, v21]).trim().split('\n').pop()!)) {
      expect(res.problems).toEqual([]);
      expect(res.episodes[0].state.flat()).toEqual(Array.from(motion.q));
    }
  });
});
