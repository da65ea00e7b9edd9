/**
 * The contributor page in Debian's chromium (headless, playwright-core) against a real contribute server:
 * capture in the browser agrees with `reel2real capture` of the same frames; a recording is sent and stored;
 * no request the page makes carries video; declined consent sends nothing.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { captureVideo } from '../../src/capture/capture.ts';
import { registerContributor } from '../../src/contribute/auth.ts';
import { startContribute, type ContributeServer } from '../../src/contribute/server.ts';
import { openStore } from '../../src/store/store.ts';
import { describeShared, shared } from '../helpers/shared.ts';
import { CHROMIUM, FFMPEG, launch, losslessClip, meanArrayError, meanError, recordingProxy, reviewedTrack, tmpDir, y4mClip, type Sent } from './helpers.ts';

const SQUATS = 'videos/tfjs_pose_squats.mp4';
const HAND = 'videos/dex_retargeting_human_hand_video.mp4';
const H1 = 'robots/unitree_h1/urdf/h1.urdf';

const ready = Boolean(CHROMIUM && FFMPEG);
if (!ready) console.warn('[skip] contribute: needs /usr/bin/chromium and ffmpeg (apt-get install chromium ffmpeg)');

describeShared('contributor page', [SQUATS, HAND, H1], () => describe.skipIf(!ready)('in headless chromium', () => {
  const key = Buffer.alloc(32, 0x5a);
  let dir = '';
  let server: ContributeServer;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let browser: Browser;
  let page: Page;
  let sent: Sent[] = [];
  let token = '';
  const clips = { squats: '', hand: '', y4m: '', h264: '' };
  /** Frames of the camera recording (the fake camera plays clips.y4m): video the page took in besides the files. */
  let cameraFrames = 0;

  beforeAll(async () => {
    dir = tmpDir('contribute');
    // A task script the squat clip can fulfil (the operator's own task scripts live in configs/tasks).
    const tasks = path.join(dir, 'tasks');
    fs.mkdirSync(tasks);
    fs.writeFileSync(path.join(tasks, 'squats.yaml'), 'id: squats\ntitle: Squats\ninstructions: |\n  Stand facing the camera, whole body in frame, and do slow squats.\ncamera: fixed\nvisible: [full_body]\nduration_s: { min: 5, max: 60 }\nmotion:\n  hands: none\n');
    fs.writeFileSync(path.join(tasks, 'raise-hand.yaml'), 'id: raise-hand\ntitle: Raise a hand\ninstructions: |\n  Hold your right hand up in front of the camera and move the fingers.\ncamera: head-mounted\nvisible: [right_hand]\nduration_s: { min: 0.5, max: 60 }\nmotion:\n  hands: right\n');
    process.env.REEL2REAL_TASKS_DIR = tasks;
    clips.squats = losslessClip(shared(SQUATS), path.join(dir, 'squats.mp4'), 40);
    clips.hand = losslessClip(shared(HAND), path.join(dir, 'hand.mp4'), 30);
    clips.y4m = y4mClip(shared(SQUATS), path.join(dir, 'camera.y4m'), 40, 5);
    clips.h264 = path.join(dir, 'squats-h264.mp4');
    execFileSync(FFMPEG!, ['-v', 'error', '-y', '-i', shared(SQUATS), '-frames:v', '20', '-an', '-c', 'copy', clips.h264]);
    server = await startContribute({ store: path.join(dir, 'store'), robot: shared(H1), key, bind: '127.0.0.1:0', mode: 'assisted' });
    token = registerContributor(path.join(dir, 'store'), 'worker-0042', key).token;
    proxy = await recordingProxy(server.url);
    sent = proxy.sent;
    browser = await launch(clips.y4m);
    page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
    page.on('dialog', (d) => void d.accept());
    page.on('console', (m) => {
      if (/^file \(/.test(m.text())) console.log(`page: ${m.text()}`);
    });
    await page.goto(`${proxy.url}?task=squats#token=${token}`);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 300_000 });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await server?.close();
    delete process.env.REEL2REAL_TASKS_DIR;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const captureFile = async (file: string) => {
    await page.evaluate(() => document.getElementById('review')!.setAttribute('hidden', ''));
    await page.setInputFiles('#file', file);
    await page.waitForSelector('#review:not([hidden])', { timeout: 600_000 });
    return reviewedTrack(page);
  };

  it('captures a file in the browser as `reel2real capture` does (same frames, same models and runtime), shows the checks', async () => {
    const { track } = await captureFile(clips.squats);
    // A lossless RGB (VP9 4:4:4) clip goes the seeking way, the one that gives ffmpeg's pixels.
    expect((track.meta!.capture as { frame_source: string }).frame_source).toBe('seek');
    const node = await captureVideo(clips.squats, { workers: 1, backend: 'wasm' });
    expect(track.timestamps.length).toBe(40);
    expect(node.timestamps.length).toBe(40);
    expect(track.jointNames).toEqual(node.jointNames);
    for (let t = 0; t < 40; t++) expect(track.timestamps[t]).toBeCloseTo(node.timestamps[t] - node.timestamps[0], 6);
    const body = meanError(track, node, 'blazepose_');
    expect(body.n).toBeGreaterThan(40 * 33 * 0.9);
    expect(body.presenceMismatch).toBe(0);
    expect(body.mean).toBeLessThan(0.01);
    console.log(`body world landmarks: browser vs capture ${(1000 * body.mean).toFixed(2)} mm mean over ${body.n} points`);
    // The task's checks, shown: framing passed for a whole-body clip, duration 7.8 s inside 5–60 s.
    expect(await page.getAttribute('#checks li[data-check=framing]', 'class')).toBe('ok');
    expect(await page.getAttribute('#checks li[data-check=duration]', 'class')).toBe('ok');
    expect(await page.textContent('#checks li[data-check=duration]')).toContain('7.8 s');
    // The skeleton was drawn over the picture.
    const drawn = await page.evaluate(() => {
      const c = document.getElementById('overlay') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
      return n;
    });
    expect(drawn).toBeGreaterThan(1000);
  }, 900_000);

  it('sends only the pose track, consent, task and report; the store then holds the episode', async () => {
    const before = sent.length;
    await page.check('input[name=scope][value=robot-training]');
    await page.click('#send');
    await page.waitForSelector('#result p[data-status]', { timeout: 300_000 });
    const status = await page.getAttribute('#result p[data-status]', 'data-status');
    if (process.env.REEL2REAL_SCREENSHOT) {
      // For the README: the picture itself is hidden (it is a frame of a third-party test video, which the project
      // never copies); the skeleton the page drew over it stays.
      await page.evaluate(() => {
        (document.getElementById('video') as HTMLVideoElement).style.visibility = 'hidden';
        document.getElementById('picture')!.style.visibility = 'hidden';
        document.getElementById('stageBox')!.style.background = '#cbd5e1';
      });
      await page.screenshot({ path: process.env.REEL2REAL_SCREENSHOT, fullPage: true });
      await page.evaluate(() => ((document.getElementById('video') as HTMLVideoElement).style.visibility = ''));
    }
    expect(status, (await page.textContent('#result')) ?? '').toBe('stored');
    const store = openStore(path.join(dir, 'store'));
    expect(store.list()).toHaveLength(1);
    const rec = store.record(store.list()[0].id);
    expect(rec.provenance.task).toBe('squats');
    expect(rec.provenance.consent.scopes).toEqual(['robot-training']);
    const uploads = sent.slice(before).filter((r) => r.method === 'POST');
    expect(uploads).toHaveLength(1);
    expect(uploads[0].contentType).toMatch(/^multipart\/form-data/);
    const body = uploads[0].body!.toString('latin1');
    expect(body).toContain('Content-Type: application/octet-stream');
    expect(body).not.toMatch(/Content-Type: (video|image|audio)\//i);
  }, 600_000);

  it('declined consent: nothing is sent', async () => {
    await page.selectOption('#taskSelect', 'raise-hand'); // head-mounted, hands only: the page tracks only the hands
    await captureFile(clips.hand);
    expect(await page.isChecked('input[name=scope][value=robot-training]')).toBe(true); // still ticked from before
    await page.uncheck('input[name=scope][value=robot-training]');
    expect(await page.isDisabled('#send')).toBe(true);
    expect(await page.textContent('#sendNote')).toContain('Nothing is sent');
    const before = sent.length;
    // The send path itself refuses too (as the button would, were it enabled).
    await page.evaluate(async () => {
      const r = (globalThis as any).reel2real.review();
      await (globalThis as any).reel2real.send(r.npz, r.report, r.contentId);
    });
    expect(await page.textContent('#status')).toContain('Not sent');
    expect(sent.slice(before).filter((r) => r.method !== 'GET' || r.url.includes('/api/episodes'))).toEqual([]);
    expect(openStore(path.join(dir, 'store')).list()).toHaveLength(1);
  }, 900_000);

  it('hands captured in the browser agree with `reel2real capture` of the same frames', async () => {
    const { track } = await reviewedTrack(page);
    const node = await captureVideo(clips.hand, { workers: 1, backend: 'wasm', body: false });
    expect(track.timestamps.length).toBe(30);
    // No body in this clip: the hands are the models' wrist-centred world points (hand_local_*, unfiltered), in
    // whichever slot the tracker put the raised hand.
    const sides = (['left', 'right'] as const).map((side) => ({ side, ...meanArrayError(track.extras![`hand_local_${side}`], node.extras![`hand_local_${side}`]) }));
    const n = sides.reduce((a, x) => a + x.n, 0);
    const mean = sides.reduce((a, x) => a + (x.n ? x.mean * x.n : 0), 0) / n;
    expect(n).toBeGreaterThan(30 * 21 * 0.8);
    expect(mean).toBeLessThan(0.002);
    for (const side of ['left', 'right']) {
      const a = track.extras![`presence_${side}_hand`].data;
      const b = node.extras![`presence_${side}_hand`].data;
      for (let t = 0; t < 30; t++) expect(Number(a[t]) > 0, `${side} hand presence, frame ${t}`).toBe(Number(b[t]) > 0);
    }
    // The palm detector ran ahead in the body worker for some of these frames (its output handed to the hand tracker):
    // the agreement above covers those frames.
    const ahead = (track.meta!.capture as { palm_detector_ahead_frames: number }).palm_detector_ahead_frames;
    expect(ahead).toBeGreaterThan(0);
    console.log(`hand world points: browser vs capture ${(1000 * mean).toFixed(2)} mm mean over ${n} points (${sides.map((x) => `${x.side} ${x.n}`).join(', ')}); palm detector run ahead in the body worker on ${ahead} frames`);
  }, 600_000);

  it('an H.264 file: decoding every frame once (WebCodecs) gives the track that seeking to each frame gives', async () => {
    await page.selectOption('#taskSelect', 'squats'); // fixed camera: body and hands
    const a = (await captureFile(clips.h264)).track;
    await page.evaluate(() => (globalThis as any).reel2real.setDecoder('seek'));
    try {
      // The very same file chosen again (the page clears its file input, so this is a change again).
      const b = (await captureFile(clips.h264)).track;
      expect((a.meta!.capture as { frame_source: string }).frame_source).toMatch(/^webcodecs avc1\./);
      expect((b.meta!.capture as { frame_source: string }).frame_source).toBe('seek');
      expect(a.timestamps.length).toBe(20);
      expect(Array.from(a.timestamps)).toEqual(Array.from(b.timestamps));
      const body = meanError(a, b, 'blazepose_');
      console.log(`H.264, WebCodecs vs seeking: body ${(1000 * body.mean).toFixed(2)} mm mean over ${body.n} points`);
      expect(body.n).toBeGreaterThan(20 * 33 * 0.9);
      expect(body.presenceMismatch).toBe(0);
      expect(body.mean).toBeLessThan(0.001);
    } finally {
      await page.evaluate(() => (globalThis as any).reel2real.setDecoder('auto'));
    }
  }, 600_000);

  it('choosing the same file again, as a contributor does (the file chooser), captures it again', async () => {
    const choose = async () => {
      await page.evaluate(() => document.getElementById('review')!.setAttribute('hidden', ''));
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('#file')]);
      await chooser.setFiles(clips.h264);
      // Only a finished capture shows the review again.
      await page.waitForSelector('#review:not([hidden])', { timeout: 120_000 });
      return (await reviewedTrack(page)).track;
    };
    const a = await choose();
    expect(await page.inputValue('#file')).toBe('');
    const b = await choose();
    expect(b.timestamps.length).toBe(20);
    expect(Array.from(b.timestamps)).toEqual(Array.from(a.timestamps));
    expect(meanError(a, b, 'blazepose_').mean).toBeLessThan(0.001);
  }, 600_000);

  it('a forged, tampered or replayed request is refused', async () => {
    const upload = sent.find((r) => r.method === 'POST' && r.url === '/api/episodes')!;
    const post = (headers: Record<string, string>, body: Buffer) => fetch(new URL('api/episodes', server.url), { method: 'POST', headers, body: new Uint8Array(body) });
    const base = Object.fromEntries(Object.entries(upload.headers).filter(([k]) => k === 'content-type' || k.startsWith('x-r2r-')));
    // Replayed: the very request the page sent, byte for byte.
    let r = await post(base, upload.body!);
    expect(r.status).toBe(401);
    expect((await r.json()).error).toMatch(/replayed/);
    // Forged: a fresh time and nonce, signed with a made-up secret for the real token id.
    const { createHash, createHmac } = await import('node:crypto');
    const forge = (secret: string, extra: Record<string, string> = {}) => {
      const time = String(Math.floor(Date.now() / 1000));
      const nonce = createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 32);
      const body = upload.body!.toString('latin1');
      const track = body.slice(body.indexOf('PK\u0003\u0004'), body.lastIndexOf('\r\n--'));
      const meta = body.slice(body.indexOf('{"content_id"'), body.indexOf('}\r\n--') + 1);
      const digest = `${createHash('sha256').update(Buffer.from(track, 'latin1')).digest('hex')}.${createHash('sha256').update(Buffer.from(meta, 'latin1')).digest('hex')}`;
      const sig = createHmac('sha256', secret).update(['POST', '/api/episodes', time, nonce, digest].join('\n')).digest('hex');
      return { ...base, 'x-r2r-time': time, 'x-r2r-nonce': nonce, 'x-r2r-signature': sig, ...extra };
    };
    r = await post(forge('f'.repeat(64)), upload.body!);
    expect(r.status).toBe(401);
    expect((await r.json()).error).toMatch(/bad signature/);
    // The right secret, but the body changed after signing.
    const secret = token.split('.')[2];
    const tampered = Buffer.from(upload.body!);
    tampered[tampered.indexOf(Buffer.from('PK\u0003\u0004')) + 200] ^= 1;
    r = await post(forge(secret), tampered);
    expect(r.status).toBe(401);
    // A token id nobody was given.
    r = await post(forge(secret, { 'x-r2r-token': `p-${'0'.repeat(64)}.1` }), upload.body!);
    expect(r.status).toBe(401);
    expect((await r.json()).error).toMatch(/unknown token/);
    // Control: the same request correctly signed now is accepted (as a duplicate of the stored upload).
    r = await post(forge(secret), upload.body!);
    expect(r.status, await r.clone().text()).toBe(200);
    expect((await r.json()).duplicate).toBe(true);
    expect(openStore(path.join(dir, 'store')).list()).toHaveLength(1);
  });

  it('garbage sent from the page: a clear error on the page, nothing stored', async () => {
    await page.check('input[name=scope][value=robot-training]');
    await page.evaluate(async () => {
      await (globalThis as any).reel2real.send(new TextEncoder().encode('this is not a pose track'.repeat(20)), { note: 'garbage' });
    });
    expect(await page.getAttribute('#status', 'class')).toBe('error');
    expect(await page.textContent('#status')).toMatch(/^Refused: upload: not a zip\/npz file/);
    expect(openStore(path.join(dir, 'store')).list()).toHaveLength(1);
    expect(fs.readdirSync(path.join(dir, 'store', 'contribute', 'uploads'))).toHaveLength(1);
  });

  it('records from the camera with the checks live; an upload that fails is kept and sent once later', async () => {
    await page.selectOption('#taskSelect', 'squats');
    await page.click('#useCamera');
    await page.waitForSelector('#record:not([disabled])');
    await page.waitForTimeout(1500);
    await page.click('#record');
    await page.waitForFunction(() => Number(/^(\d+) frames/.exec(document.getElementById('rate')!.textContent ?? '')?.[1] ?? 0) >= 8, null, { timeout: 300_000, polling: 500 });
    // Checks show while recording.
    expect(await page.locator('#checks li').count()).toBe(2);
    await page.waitForFunction(() => document.querySelector('#checks li[data-check=duration]')?.className === 'ok', null, { timeout: 300_000, polling: 500 });
    await page.click('#record');
    await page.waitForSelector('#review:not([hidden])');
    const { track } = await reviewedTrack(page);
    expect(track.source.origin).toBe('camera');
    expect(track.timestamps.length).toBeGreaterThanOrEqual(8);
    cameraFrames = track.timestamps.length;
    // The network fails for the first try: the upload stays in the outbox.
    let aborted = 0;
    await page.route('**/api/episodes', (route) => (route.request().method() === 'POST' && aborted++ === 0 ? route.abort('internetdisconnected') : route.fallback()));
    const posts = () => sent.filter((r) => r.method === 'POST').length;
    const before = posts();
    await page.click('#send');
    await page.waitForFunction(() => /Not sent yet/.test(document.getElementById('status')!.textContent ?? ''));
    expect(posts()).toBe(before);
    expect(await page.textContent('#outboxInfo')).toContain('1 upload(s) waiting');
    await page.evaluate(() => (globalThis as any).reel2real.flushOutbox());
    await page.waitForSelector('#result p[data-status]');
    expect(posts()).toBe(before + 1);
    const status = await page.getAttribute('#result p[data-status]', 'data-status');
    expect(['stored', 'rejected']).toContain(status);
    // Sent again (a second retry of the same content): the first answer, nothing stored twice.
    const count = openStore(path.join(dir, 'store')).list().length;
    await page.evaluate(async () => {
      const r = (globalThis as any).reel2real.review();
      await (globalThis as any).reel2real.send(r.npz, r.report, r.contentId);
    });
    await page.waitForFunction(() => /already received/.test(document.querySelector('#result p')?.textContent ?? ''));
    expect(openStore(path.join(dir, 'store')).list()).toHaveLength(count);
  }, 900_000);

  it('the contributor withdraws an episode from the page: purge removes it', async () => {
    const store = openStore(path.join(dir, 'store'));
    const id = store.list()[0].id;
    await page.click(`#episodes li[data-episode="${id}"] button`);
    await page.waitForFunction(() => /^Withdrawn/.test(document.getElementById('status')!.textContent ?? ''));
    expect(openStore(path.join(dir, 'store')).has(id)).toBe(false);
    await page.waitForFunction((eid) => /withdrawn/.test(document.querySelector(`#episodes li[data-episode="${eid}"]`)?.textContent ?? ''), id);
    const audit = fs.readFileSync(path.join(dir, 'store', 'audit.jsonl'), 'utf8');
    expect(audit).toMatch(/"action":"withdraw"/);
    expect(audit).toMatch(/"action":"purge"/);
  });

  it('no request the page made carried video', () => {
    // The video the page took in: the two files it read, and the camera recording's frames as the fake camera
    // delivered them (4:2:0 at the y4m's size). The camera recording's length depends on how fast the page captures,
    // so it is counted as recorded, not assumed.
    const [, w, h] = /W(\d+) H(\d+)/.exec(fs.readFileSync(clips.y4m).subarray(0, 100).toString('latin1'))!.map(Number);
    const camera = cameraFrames * w * h * 1.5;
    const read = fs.statSync(clips.squats).size + fs.statSync(clips.hand).size + camera;
    const raw = 40 * 720 * 1280 * 1.5 + 30 * 1280 * 720 * 1.5 + camera; // the captured frames as 4:2:0 video
    const up = sent.filter((r) => r.bytes > 0);
    const total = up.reduce((a, r) => a + r.bytes, 0);
    expect(sent.length).toBeGreaterThan(10); // the page, scripts, models, API calls all went through the recorder
    for (const r of sent) {
      expect(r.contentType).not.toMatch(/^(video|audio|image)\//);
      if (!r.body) continue;
      const b = r.body;
      expect(b.includes(Buffer.from('ftyp')), `${r.url} carries an MP4 box`).toBe(false);
      expect(b.includes(Buffer.from([0x1a, 0x45, 0xdf, 0xa3])), `${r.url} carries WebM/Matroska`).toBe(false);
      expect(b.includes(Buffer.from('YUV4MPEG2')), `${r.url} carries raw video`).toBe(false);
    }
    console.log(`requests: ${sent.length}; with a body: ${up.length} (${up.map((r) => `${r.method} ${r.url} ${r.contentType.split(';')[0]} ${r.bytes} B`).join('; ')}); ${total} bytes in all, against ${read} bytes of video the page took in (files, and ${cameraFrames} camera frames at ${w}x${h}) and ${raw} bytes of frames it captured`);
    expect(up.every((r) => r.method === 'POST' && r.url === '/api/episodes')).toBe(true);
    expect(total).toBeLessThan(0.01 * read);
    expect(total).toBeLessThan(0.01 * raw);
  });

}));
