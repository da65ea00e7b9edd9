import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeShared, shared } from '../helpers/shared.ts';
import { runCli } from '../helpers/cli.ts';
import { hasTool } from '../../src/io/ffmpeg.ts';

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-qa-video-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

describeShared('qa on a video (capture, then the gate)', ['videos/tfjs_pose_squats.mp4'], () => {
  it.skipIf(!hasTool('ffmpeg'))('captures the clip and judges it with capture\'s presence, 2D landmarks and the video\'s timestamps', () => {
    // 2 s of the real squats video, with frames 4–5 dropped (their neighbours keep their own timestamps).
    const clip = path.join(tmp, 'squats-2s.mp4');
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', shared('videos/tfjs_pose_squats.mp4'), '-t', '2', '-vf', "select='not(between(n\\,4\\,5))'",
      '-fps_mode', 'passthrough', '-c:v', 'libx264', '-preset', 'ultrafast', '-an', clip], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = runCli(['qa', clip, '--json'], { timeout: 240_000 });
    expect(out.code, out.stderr).toBe(0);
    const rep = JSON.parse(out.stdout);
    expect(rep.frames).toBe(8);
    expect(rep.metrics.presence.source).toBe('capture presence + joints');
    expect(rep.metrics.presence.rate).toBe(1);
    expect(rep.metrics.framing.source).toMatch(/capture/);
    expect(rep.metrics.framing.cutoff_rate).toBe(0);
    expect(rep.metrics.video.frames).toBe(8);
    // The two dropped frames are seen in both the track's and the video's timestamps.
    const codes = rep.reasons.map((x: any) => x.code);
    expect(codes).toEqual(expect.arrayContaining(['timing.dropped_frames', 'video.timing.dropped_frames']));
    expect(rep.metrics.timing.dropped_frames).toBe(2);
    expect(rep.verdict).toBe('reject'); // 2 of 10 frames dropped: above the 10% reject level
  }, 300_000);
});
