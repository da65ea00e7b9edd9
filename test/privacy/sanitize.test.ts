import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeShared, shared } from '../helpers/shared.ts';
import { hasTool, ffprobe } from '../../src/io/ffmpeg.ts';
import { metadataFindings, sanitizeVideo, verifySanitized } from '../../src/privacy/sanitize.ts';
import { FaceDetector } from '../../src/privacy/faces.ts';
import { keepVideo } from '../../src/privacy/keep.ts';
import { keptVideoPath } from '../../src/privacy/purge.ts';
import { decodeFrames, probeVideo } from '../../src/capture/video.ts';

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-sanitize-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${r.stderr}`);
}

async function maxFaceScore(file: string, det: FaceDetector): Promise<number> {
  let best = 0;
  for await (const f of decodeFrames(file, probeVideo(file))) best = Math.max(best, det.maxScore(f.data, f.width, f.height));
  return best;
}

const needFfmpeg = !hasTool('ffmpeg') || !hasTool('ffprobe');
if (needFfmpeg) console.warn('[skip] sanitize tests: ffmpeg/ffprobe not installed (apt-get install -y ffmpeg)');

describeShared('kept videos: metadata stripped, faces blurred, verified by reading back', ['videos/tfjs_pose_squats.mp4', 'images/mediapipe_holistic_business_person.png'], () => {
  it.skipIf(needFfmpeg)('a phone-style video with GPS, device, dates, a data stream and audio comes out with none of them', async () => {
    const src = path.join(tmp, 'gps.mp4');
    // 1 s of the real squats clip, with what a phone writes: location atoms, make/model, creation dates,
    // a timecode data track and an audio track.
    ffmpeg(['-i', shared('videos/tfjs_pose_squats.mp4'), '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-t', '1',
      '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-timecode', '01:00:00:00',
      '-metadata', 'location=+48.8577+002.2950/', '-metadata', 'location-eng=+48.8577+002.2950/',
      '-metadata', 'creation_time=2024-05-01T10:00:00Z', '-metadata', 'make=Apple', '-metadata', 'model=iPhone 15 Pro',
      '-metadata:s:v:0', 'creation_time=2024-05-01T10:00:00Z', '-movflags', 'use_metadata_tags', src]);
    // The input really carries them (read with ffprobe first).
    const before = ffprobe(src);
    expect(before.format.tags?.location).toBe('+48.8577+002.2950/');
    expect(before.format.tags?.make).toBe('Apple');
    expect(before.streams.some((s) => s.codec_type === 'data')).toBe(true);
    expect(before.streams.some((s) => s.codec_type === 'audio')).toBe(true);

    const out = path.join(tmp, 'kept', 'clean.mp4');
    const rep = await sanitizeVideo(src, out, { sampleFrames: 3 });
    expect(rep.removed.tags.map((t) => t.key)).toEqual(expect.arrayContaining(['location', 'location-eng', 'make', 'model', 'creation_time']));
    expect(rep.removed.streams.length).toBeGreaterThan(0);
    expect(rep.audio).toBe('dropped');
    expect(rep.faces.frames_with_faces).toBe(rep.frames); // the woman's face is in every frame

    // Read the written file back independently of the module under test.
    const r = spawnSync('ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-show_chapters', '-of', 'json', out], { encoding: 'utf8' });
    const after = JSON.parse(r.stdout);
    const allTags = JSON.stringify([after.format.tags ?? {}, ...after.streams.map((s: any) => s.tags ?? {})]);
    for (const bad of ['location', '48.8577', 'Apple', 'iPhone', 'creation_time', '2024-05-01', 'make', 'model', 'L-SMASH']) expect(allTags).not.toContain(bad);
    expect(after.streams.map((s: any) => s.codec_type)).toEqual(['video']);
    expect(after.chapters ?? []).toEqual([]);
    expect(metadataFindings(ffprobe(out)).tags).toEqual([]);
    // No temporary file left beside the output.
    expect(fs.readdirSync(path.dirname(out))).toEqual(['clean.mp4']);

    // keepAudio keeps the sound (metadata still stripped; faces are covered above, skipped here for time).
    const withAudio = path.join(tmp, 'kept', 'with-audio.mp4');
    const rep2 = await sanitizeVideo(src, withAudio, { keepAudio: true, blurFaces: false, sampleFrames: 0 });
    expect(rep2.audio).toBe('kept');
    const a = ffprobe(withAudio);
    expect(a.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    expect(metadataFindings(a).tags).toEqual([]);
  }, 120_000);

  it.skipIf(needFfmpeg)('faces are blurred: the detector finds a face in the input and none in the output', async () => {
    // A short video made from the real photo (upper body, face and hands visible).
    const src = path.join(tmp, 'person.mp4');
    ffmpeg(['-loop', '1', '-framerate', '5', '-t', '0.8', '-i', shared('images/mediapipe_holistic_business_person.png'),
      '-vf', 'scale=480:-2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', src]);
    const det = await FaceDetector.create();
    const before = await maxFaceScore(src, det);
    expect(before).toBeGreaterThan(0.9);
    // Through keepVideo, as `run --keep-video` does: into the store's kept-video place, audited.
    const store = path.join(tmp, 'store');
    const epId = 'e'.repeat(64);
    const seen: [number, number][] = [];
    const { path: out, report: rep } = await keepVideo(store, epId, src, { sampleFrames: 2, actor: 'test', onProgress: (d, t) => seen.push([d, t]) });
    expect(out).toBe(keptVideoPath(store, epId));
    // Progress per frame (what `run --keep-video` shows), ending at the frame count.
    expect(seen.map(([d]) => d)).toEqual(Array.from({ length: rep.frames }, (_, i) => i + 1));
    expect(seen.at(-1)).toEqual([rep.frames, rep.frames]);
    const audit = fs.readFileSync(path.join(store, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(audit).toEqual([expect.objectContaining({ action: 'keep-video', episode: epId, actor: 'test' })]);
    expect(audit[0].details.faces_blurred_frames).toBe(rep.frames);
    expect(rep.faces.frames_with_faces).toBe(rep.frames);
    const after = await maxFaceScore(out, det);
    expect(after).toBeLessThan(0.5);
    expect(rep.verification.max_face_score).toBeLessThan(rep.verification.verify_score);
    // Verification really looks: the unblurred input fails it, and names the file.
    await expect(verifySanitized(src, { sampleFrames: 1, detector: det, verifyScore: 0.75 })).rejects.toThrow(/person\.mp4: sanitized video failed verification: .*a face is still detected/);
  }, 120_000);
});
