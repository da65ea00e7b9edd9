import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeShared, shared } from '../helpers/shared.ts';
import { hasTool } from '../../src/io/ffmpeg.ts';
import { sanitizeVideo } from '../../src/privacy/sanitize.ts';
import { FaceDetector } from '../../src/privacy/faces.ts';
import { decodeFrames, probeVideo } from '../../src/capture/video.ts';

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-sanitize-motion-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });
const noFfmpeg = !hasTool('ffmpeg') || !hasTool('ffprobe');

describeShared('face blur between detector frames', ['images/mediapipe_holistic_business_person.png'], () => {
  it.skipIf(noFfmpeg)('a moving face is blurred in the frames the detector skipped too', async () => {
    // 1 s at 15 fps of the real photo, the view panning 6 px per frame (the face moves across the picture).
    const src = path.join(tmp, 'pan.mp4');
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-loop', '1', '-framerate', '15', '-t', '1', '-i', shared('images/mediapipe_holistic_business_person.png'),
      '-vf', "scale=640:-2,crop=480:640:x='min(n*6,160)':y=100", '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', src], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = path.join(tmp, 'pan-clean.mp4');
    const rep = await sanitizeVideo(src, out, { sampleFrames: 0 });
    expect(rep.faces.detect_every).toBe(3); // round(15 / 6)
    expect(rep.faces.frames_detected).toBe(5);
    expect(rep.frames).toBe(15);
    // Check frames the detector did not run on (indices not divisible by 3), in the input and the output.
    const det = await FaceDetector.create();
    const pick = new Set([1, 7, 14]);
    const scores = async (file: string) => {
      const out: number[] = [];
      for await (const f of decodeFrames(file, probeVideo(file))) if (pick.has(f.index)) out.push(det.maxScore(f.data, f.width, f.height));
      return out;
    };
    const before = await scores(src);
    expect(Math.min(...before)).toBeGreaterThan(0.9);
    const after = await scores(out);
    expect(after).toHaveLength(3);
    expect(Math.max(...after)).toBeLessThan(0.5);
  }, 90_000);
});
