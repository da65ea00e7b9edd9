/**
 * The contributor page. Flow: token (from the link the operator gave: #token=…) → task script → consent, one
 * opt-in per scope, nothing ticked → camera or file → capture on this device (skeleton over the picture, the
 * task's checks live) → review → send or discard → verdict and reasons; the contributor's own episodes, each
 * with a withdraw button. The video does not leave the page: what is sent is the pose track (.npz), the consent
 * choices, the task id and the device-side quality report — and the video only when the contributor ticked the
 * scope that asks for it (the server keeps it sanitised). A camera recording is recorded as video (MediaRecorder)
 * only when that box is ticked as recording starts; otherwise no video exists beyond the live picture.
 */
import { H_IMAGE, H_SCORE, R_BODY_IMAGE, R_BODY_SCORE, R_BODY_VIS, ROW, handBase } from '../../capture/layout.ts';
import { ApiError, getJson, outbox, parseToken, sendUpload, sha256Hex, signedFetch, type Pending, type Token } from './api.ts';
import { Recording, encodeTrack, recordingTrack } from './capture.ts';
import { BODY_EDGES, HAND_EDGES, deviceReport, evaluate, partsFor, type Check, type DeviceReport, type TaskInfo } from './checks.ts';
import { decodeFile, decoderConfig } from './decode.ts';
import { createEngine, type Engine, type Tracked } from './engine.ts';
import { mp4Video } from './mp4.ts';

interface ConsentInfo {
  version: string;
  text: string;
  withdrawal: string;
  required: string;
  /** The scope that sends the video. */
  video: string;
  scopes: { id: string; label: string; description: string; offered: boolean }[];
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const state: {
  token: Token | null;
  tasks: TaskInfo[];
  consent: ConsentInfo | null;
  engine: Engine | null;
  rec: Recording | null;
  /** Rows of the recording still being tracked (the engine keeps a few frames in flight). */
  inFlight: Promise<void>[];
  recording: boolean;
  recStart: number;
  origin: 'camera' | 'file';
  stream: MediaStream | null;
  review: { npz: Uint8Array; report: DeviceReport; contentId: string; lines: string[] } | null;
  /** The recording's video, on this device: the chosen file, or what MediaRecorder recorded (video scope ticked). */
  video: Blob | null;
  recorder: { rec: MediaRecorder; chunks: Blob[] } | null;
  /** Capture rate of the last recording (frames per second of wall time while capturing). */
  rate: number;
  /** How files are read: 'auto' (WebCodecs when it can, else seeking) or 'seek' (`?decoder=seek`; the benchmark and tests compare both). */
  decoder: 'auto' | 'seek';
  frameSource: string;
} = { token: null, tasks: [], consent: null, engine: null, rec: null, inFlight: [], recording: false, recStart: 0, origin: 'camera', stream: null, review: null, video: null, recorder: null, rate: 0, decoder: new URLSearchParams(location.search).get('decoder') === 'seek' ? 'seek' : 'auto', frameSource: '' };

function status(msg: string, kind: 'info' | 'error' = 'info'): void {
  const el = $('status');
  el.textContent = msg;
  el.className = kind;
}

function task(): TaskInfo {
  const id = ($('taskSelect') as HTMLSelectElement).value;
  return state.tasks.find((t) => t.id === id)!;
}

// ---- token, task, consent --------------------------------------------------------------------------

function readToken(): Token | null {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    const t = parseToken(decodeURIComponent(m[1]));
    if (t) localStorage.setItem('reel2real-token', `${t.id}.${t.secret}`);
    history.replaceState(null, '', location.pathname + location.search);
  }
  const saved = localStorage.getItem('reel2real-token');
  return saved ? parseToken(saved) : null;
}

function showTask(): void {
  const t = task();
  const vis = t.visible.map((v) => v.replace(/_/g, ' ')).join(', ') || 'nothing in particular';
  $('taskInfo').innerHTML = '';
  const add = (label: string, text: string) => {
    const p = document.createElement('p');
    const b = document.createElement('b');
    b.textContent = `${label}: `;
    p.append(b, text);
    $('taskInfo').append(p);
  };
  add('What to do', t.instructions);
  add('Camera', t.camera === 'fixed' ? 'on a fixed stand' : 'head-mounted');
  add('Must be visible', vis);
  add('Duration', `${t.duration_s.min}–${t.duration_s.max} seconds`);
  renderChecks(evaluate(t, new Float32Array(0), 0, 0, false));
}

function showConsent(c: ConsentInfo): void {
  $('consentText').textContent = c.text;
  $('withdrawal').textContent = c.withdrawal;
  const list = $('scopes');
  list.innerHTML = '';
  for (const s of c.scopes) {
    const label = document.createElement('label');
    label.className = 'scope';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.name = 'scope';
    box.value = s.id;
    box.checked = false;
    box.disabled = !s.offered;
    box.addEventListener('change', updateSend);
    const text = document.createElement('span');
    text.innerHTML = `<b></b> — <span></span>${s.offered ? '' : ' <i>(not offered by this page)</i>'}`;
    (text.querySelector('b') as HTMLElement).textContent = s.label;
    (text.querySelector('span') as HTMLElement).textContent = s.description;
    label.append(box, text);
    list.append(label);
  }
}

function consentChoices(): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const box of document.querySelectorAll<HTMLInputElement>('input[name=scope]')) out[box.value] = box.checked;
  return out;
}

function updateSend(): void {
  const c = state.consent;
  const ok = Boolean(c && consentChoices()[c.required]);
  const btn = $('send') as HTMLButtonElement;
  btn.disabled = !state.review || !ok || !state.token;
  $('sendNote').textContent = !ok && c ? `Nothing is sent unless you tick "${c.scopes.find((s) => s.id === c.required)?.label ?? c.required}".` : '';
  renderSentList();
}

/** Whether the video goes with the upload: only with the video scope ticked, and only if there is one. */
function videoToSend(): Blob | null {
  return state.consent && consentChoices()[state.consent.video] && state.video ? state.video : null;
}

/** The review's "what will be sent" list, following the boxes. */
function renderSentList(): void {
  const r = state.review;
  if (!r) return;
  const video = videoToSend();
  const sent = $('sentList');
  sent.innerHTML = '';
  for (const line of [...r.lines, ...(video ? [`the video (${(video.size / 1048576).toFixed(1)} MB), because you ticked "Keep the video": the operator keeps it sanitised (faces blurred, metadata and sound removed)`] : [])]) {
    const li = document.createElement('li');
    li.textContent = line;
    sent.append(li);
  }
  const ticked = Boolean(state.consent && consentChoices()[state.consent.video]);
  $('notSent').textContent = video ? '' : ticked
    ? 'The video is not sent: this camera recording was made without "Keep the video" ticked, so no video was recorded.'
    : 'The video is not sent: it stays on this device and is dropped when you leave the page.';
}

// ---- capture ----------------------------------------------------------------------------------------

function drawOverlay(row: Float32Array | null): void {
  const video = $('video') as HTMLVideoElement;
  const canvas = $('overlay') as HTMLCanvasElement;
  if (canvas.width !== video.videoWidth || canvas.height !== video.videoHeight) {
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
  }
  const ctx = canvas.getContext('2d')!;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!row) return;
  const W = canvas.width;
  const H = canvas.height;
  ctx.lineWidth = Math.max(2, W / 320);
  if (row[R_BODY_SCORE] > 0) {
    ctx.strokeStyle = '#22d3ee';
    ctx.beginPath();
    for (const [a, b] of BODY_EDGES) {
      if (row[R_BODY_VIS + a] < 0.5 || row[R_BODY_VIS + b] < 0.5) continue;
      ctx.moveTo(row[R_BODY_IMAGE + 3 * a] * W, row[R_BODY_IMAGE + 3 * a + 1] * H);
      ctx.lineTo(row[R_BODY_IMAGE + 3 * b] * W, row[R_BODY_IMAGE + 3 * b + 1] * H);
    }
    ctx.stroke();
  }
  for (const side of [0, 1] as const) {
    const base = handBase(side);
    if (!(row[base + H_SCORE] > 0)) continue;
    ctx.strokeStyle = side ? '#f97316' : '#a3e635';
    ctx.beginPath();
    for (const [a, b] of HAND_EDGES) {
      ctx.moveTo(row[base + H_IMAGE + 3 * a] * W, row[base + H_IMAGE + 3 * a + 1] * H);
      ctx.lineTo(row[base + H_IMAGE + 3 * b] * W, row[base + H_IMAGE + 3 * b + 1] * H);
    }
    ctx.stroke();
  }
}

function renderChecks(checks: Check[]): void {
  const ul = $('checks');
  ul.innerHTML = '';
  for (const c of checks) {
    const li = document.createElement('li');
    li.className = c.state;
    li.dataset.check = c.id;
    li.textContent = `${c.state === 'ok' ? '✓' : c.state === 'pending' ? '…' : '✗'} ${c.label}: ${c.detail}`;
    ul.append(li);
  }
}

let engineLoad: Promise<Engine> | null = null;

/** The capture engine (engine.ts), started once: body and hands in two workers where the browser allows. */
async function engine(): Promise<Engine> {
  if (!state.engine) {
    status('Loading the pose models (once; they stay on this device)…');
    engineLoad ??= createEngine($('picture') as HTMLCanvasElement);
    state.engine = await engineLoad;
    const rt = state.engine.runtime;
    $('runtime').textContent = `models on ${rt.backend}${rt.simd ? ' + SIMD' : ''}${state.engine.workers ? `, body and hands in ${state.engine.workers} workers` : rt.threads ? ' + threads' : ''}`;
    status('');
  }
  return state.engine;
}

/** Start a recording's rows (tracking restarts with detection). */
function newRecording(e: Engine): Recording {
  const parts = partsFor(task());
  e.reset(parts);
  state.inFlight = [];
  return new Recording(parts);
}

/** Hand a frame to the engine; its row goes to `rec` (in frame order) and then to `then`. */
function submit(e: Engine, src: Parameters<Engine['track']>[0], time: number, rec: Recording | null, then: (t: Tracked) => void): void {
  const p = e.track(src, time).then((t) => {
    rec?.push(t);
    then(t);
  });
  if (rec) {
    state.inFlight.push(p); // awaited (and its failure reported) when the recording ends
    p.catch(() => undefined);
  } else p.catch(fail);
}

async function useCamera(): Promise<void> {
  discard();
  const e = await engine();
  const video = $('video') as HTMLVideoElement;
  state.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
  video.srcObject = state.stream;
  video.muted = true;
  await video.play();
  state.origin = 'camera';
  ($('record') as HTMLButtonElement).disabled = false;
  $('stage').hidden = false;
  e.reset(partsFor(task())); // the preview: tracked and shown, not kept
  let lastDrawn = 0;
  const take = (src: Parameters<Engine['track']>[0], now: number) => {
    const rec = state.recording ? state.rec : null;
    submit(e, src, now - state.recStart, rec, (t) => {
      // The skeleton and the checks at most every 50 ms, as for a file.
      const at = performance.now();
      if (rec && state.recording && rec === state.rec) state.rate = rec.n / Math.max(1e-9, at / 1000 - state.recStart);
      if (at - lastDrawn < 50) return;
      lastDrawn = at;
      drawOverlay(t.row);
      if (rec && state.recording && rec === state.rec) {
        const secs = rec.n > 1 ? rec.times[rec.n - 1] - rec.times[0] : 0;
        renderChecks(evaluate(task(), rec.rows, rec.n, secs, false));
        $('rate').textContent = `${rec.n} frames, ${state.rate.toFixed(1)} frames/s`;
      }
    });
  };
  const stream = state.stream;
  const Processor = (globalThis as { MediaStreamTrackProcessor?: new (o: { track: MediaStreamTrack }) => { readable: ReadableStream<VideoFrame> } }).MediaStreamTrackProcessor;
  if (Processor && e.workers > 0 && new URLSearchParams(location.search).get('camera') === 'track') {
    // `?camera=track` (measured, not the default: it tracked fewer frames per recording than the <video> way, see
    // benchmarks/contribute/RESULTS.md): the camera's frames straight from its track, no <video> playing beside the
    // models; the newest one whenever the engine can take another, the others closed unread.
    video.pause();
    showPicture(true);
    const reader = new Processor({ track: stream.getVideoTracks()[0] }).readable.getReader();
    void (async () => {
      for (;;) {
        const { value: frame, done } = await reader.read();
        if (done || !frame) break;
        if (state.stream !== stream) {
          frame.close();
          void reader.cancel();
          break;
        }
        if (!e.canTake()) {
          frame.close();
          continue;
        }
        take({ frame, width: frame.displayWidth, height: frame.displayHeight }, performance.now() / 1000);
      }
    })().catch(fail);
    return;
  }
  // The newest camera picture whenever the engine can take another frame (a few are in flight at once).
  const loop = () => {
    if (!state.stream) return;
    if (e.canTake() && video.readyState >= 2) {
      const now = performance.now() / 1000;
      // The camera's picture as a VideoFrame, handed to the engine (its pixels are read in the body worker).
      take(typeof VideoFrame === 'function' ? { frame: new VideoFrame(video, { timestamp: Math.round(now * 1e6) }), width: video.videoWidth, height: video.videoHeight } : { video }, now);
    }
    video.requestVideoFrameCallback(loop);
  };
  video.requestVideoFrameCallback(loop);
}

async function toggleRecord(): Promise<void> {
  const btn = $('record') as HTMLButtonElement;
  if (!state.recording) {
    state.rec = newRecording(await engine());
    state.video = null;
    // The video itself is recorded only when the contributor already agreed to send it.
    if (state.stream && state.consent && consentChoices()[state.consent.video]) {
      const rec = new MediaRecorder(state.stream, MediaRecorder.isTypeSupported('video/webm;codecs=vp8') ? { mimeType: 'video/webm;codecs=vp8' } : {});
      state.recorder = { rec, chunks: [] };
      rec.ondataavailable = (e) => state.recorder?.chunks.push(e.data);
      rec.start(1000);
    }
    state.recStart = performance.now() / 1000;
    state.recording = true;
    btn.textContent = 'Stop';
    status('Recording… the video stays on this device.');
    return;
  }
  state.recording = false;
  btn.textContent = 'Start recording';
  const r = state.recorder;
  if (r) {
    await new Promise<void>((resolve) => {
      r.rec.onstop = () => resolve();
      r.rec.stop();
    });
    state.video = new Blob(r.chunks, { type: r.rec.mimeType.split(';')[0] || 'video/webm' });
    state.recorder = null;
  }
  stopCamera();
  await Promise.all(state.inFlight); // the frames taken before Stop
  await finish();
}

function stopCamera(): void {
  for (const tr of state.stream?.getTracks() ?? []) tr.stop();
  state.stream = null;
}

/**
 * Seek to `time` and wait until the picture there is ready to be drawn: 'seeked', and the element has presented
 * the new picture (its video frame callback; 'seeked' alone sometimes came before the last frame's picture, which
 * then gave the previous one). The callback is not waited for longer than 250 ms after 'seeked'.
 */
function seekTo(video: HTMLVideoElement, time: number): Promise<void> {
  return new Promise((resolve) => {
    let seeked = false;
    let shown = false;
    const done = () => {
      if (seeked && shown) resolve();
    };
    if (typeof video.requestVideoFrameCallback === 'function') {
      video.requestVideoFrameCallback(() => {
        shown = true;
        done();
      });
    } else shown = true;
    video.addEventListener('seeked', () => {
      seeked = true;
      setTimeout(() => {
        shown = true;
        done();
      }, 250);
      done();
    }, { once: true });
    video.currentTime = time;
  });
}

/**
 * The interval between a file's frames. The browser does not say a file's frame rate: play it for a moment and
 * take the smallest step between the media times of the pictures shown (headless playback may skip pictures,
 * never show one twice).
 */
async function frameInterval(video: HTMLVideoElement): Promise<number> {
  const times: number[] = [];
  await new Promise<void>((resolve) => {
    const started = performance.now();
    const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
      times.push(meta.mediaTime);
      if (times.length >= 8 || performance.now() - started > 1500 || video.ended) resolve();
      else video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    setTimeout(resolve, 2500);
    void video.play();
  });
  video.pause();
  let dt = Infinity;
  for (let i = 1; i < times.length; i++) if (times[i] - times[i - 1] > 1e-4) dt = Math.min(dt, times[i] - times[i - 1]);
  return Number.isFinite(dt) ? dt : 1 / 30;
}

/**
 * Show the picture canvas under the skeleton: the engine draws the decoded frames there when frames do not come
 * from the <video> (WebCodecs; with workers at most every 100 ms). While capturing, the skeleton and the picture
 * shown may be a few frames apart (frames are in flight in the workers); the track itself is not affected.
 */
function showPicture(on: boolean): void {
  ($('picture') as HTMLCanvasElement).hidden = !on;
}

/**
 * A file: every frame once, in order. MP4/MOV in H.264 or VP9 that this browser decodes: WebCodecs from the
 * file's samples (decode.ts). Otherwise the <video> element is seeked to the middle of each frame's interval.
 */
async function useFile(file: File): Promise<void> {
  discard();
  stopCamera();
  const e = await engine();
  const video = $('video') as HTMLVideoElement;
  video.srcObject = null;
  video.src = URL.createObjectURL(file);
  video.muted = true;
  await new Promise<void>((resolve, reject) => {
    video.onloadeddata = () => resolve();
    video.onerror = () => reject(new Error(`${file.name}: this browser cannot play this file`));
  });
  $('stage').hidden = false;
  ($('record') as HTMLButtonElement).disabled = true;
  state.origin = 'file';
  state.video = file;
  const rec = (state.rec = newRecording(e));
  const duration = video.duration;
  const mp4 = await mp4Video(file);
  const config = state.decoder === 'seek' ? null : await decoderConfig(mp4);
  state.frameSource = config ? `webcodecs ${config.codec}` : 'seek';
  const start = performance.now();
  let lastDrawn = 0;
  const step = (t: Tracked) => {
    // The skeleton and the checks at most every 50 ms (the picture itself is drawn with every frame).
    const now = performance.now();
    state.rate = rec.n / ((now - start) / 1000);
    if (now - lastDrawn < 50) return;
    lastDrawn = now;
    drawOverlay(t.row);
    const secs = rec.n > 1 ? rec.times[rec.n - 1] - rec.times[0] : 0;
    renderChecks(evaluate(task(), rec.rows, rec.n, secs, false));
    $('rate').textContent = `${rec.n} frames, ${state.rate.toFixed(1)} frames/s`;
  };
  const log = (how: string) => console.log(`file (${how}): ${rec.n} frames, body ${(rec.bodyMs / 1000).toFixed(2)} s + hands ${(rec.handMs / 1000).toFixed(2)} s in the trackers, reading frames ${(rec.readMs / 1000).toFixed(2)} s (${e.workers} workers), wall ${((performance.now() - start) / 1000).toFixed(2)} s`);
  if (mp4 && config) {
    showPicture(true);
    for await (const { frame, time } of decodeFile(file, mp4, config)) {
      let handed = false;
      try {
        await e.ready();
        // The picture as stored (coded size less cropping), as ffmpeg gives it to `reel2real capture`.
        const w = frame.visibleRect?.width ?? frame.displayWidth;
        const h = frame.visibleRect?.height ?? frame.displayHeight;
        handed = true;
        submit(e, { frame, width: w, height: h }, time, rec, step);
      } finally {
        if (!handed) frame.close();
      }
    }
    await Promise.all(state.inFlight);
    URL.revokeObjectURL(video.src);
    log(`WebCodecs ${config.codec}`);
    await finish();
    return;
  }
  // Frame times from the file's sample tables (MP4/MOV), else a constant interval found by playing it.
  let times = mp4?.times.length ? mp4.times : null;
  if (!times || !times.length) {
    const dt = await frameInterval(video);
    times = Float64Array.from({ length: Math.max(1, Math.floor(duration / dt + 0.25)) }, (_, i) => i * dt);
  }
  // Frame i shows from times[i] to times[i+1]: seek to the middle of that interval.
  for (let i = 0; i < times.length; i++) {
    const next = i + 1 < times.length ? times[i + 1] : times[i] + (i > 0 ? times[i] - times[i - 1] : 1 / 30);
    await e.ready();
    await seekTo(video, (times[i] + next) / 2);
    submit(e, { video }, times[i], rec, step);
  }
  await Promise.all(state.inFlight);
  URL.revokeObjectURL(video.src);
  log('seeking');
  await finish();
}

async function finish(): Promise<void> {
  const rec = state.rec;
  if (!rec || rec.n === 0) {
    status('Nothing was recorded.', 'error');
    return;
  }
  const secs = rec.n > 1 ? rec.times[rec.n - 1] - rec.times[0] : 0;
  const report = deviceReport(task(), rec.rows, rec.n, secs);
  renderChecks(report.checks);
  drawOverlay(rec.rows.slice((rec.n - 1) * ROW, rec.n * ROW));
  const track = await recordingTrack(rec, { origin: state.origin, frameSource: state.origin === 'camera' ? 'camera' : state.frameSource }, state.engine!);
  const npz = encodeTrack(track);
  const contentId = await sha256Hex(npz);
  state.review = { npz, report, contentId, lines: [
    `the pose track: ${track.jointNames.length} joint positions per frame, ${(npz.length / 1024).toFixed(0)} KB`,
    'your consent choices (the boxes above)',
    `the task id: ${report.task}`,
    'this device\'s quality report (the checks above)',
  ] };
  $('review').hidden = false;
  $('summary').textContent = `${report.frames} frames, ${report.seconds.toFixed(1)} s; ${report.passed ? 'all checks passed' : 'some checks failed (you can still send; the server decides)'}`;
  renderSentList();
  status('Review, then send or discard.');
  updateSend();
}

function discard(): void {
  showPicture(false);
  state.review = null;
  state.rec = null;
  state.video = null;
  $('review').hidden = true;
  $('result').textContent = '';
  drawOverlay(null);
  updateSend();
}

// ---- send, outbox, episodes -------------------------------------------------------------------------

/** Queue and send a track's bytes (the Send button with the encoded track; also the page's test hook). */
async function send(npz: Uint8Array, report: unknown, contentId?: string): Promise<void> {
  const c = state.consent!;
  const scopes = consentChoices();
  if (!scopes[c.required]) {
    status(`Not sent: you did not consent to ${c.required}.`, 'error');
    return;
  }
  if (!state.token) throw new Error('no contributor token: open the link your operator gave you');
  const id = contentId ?? (await sha256Hex(npz));
  const video = videoToSend();
  const p: Pending = {
    contentId: id,
    track: new Blob([npz as BlobPart], { type: 'application/octet-stream' }),
    ...(video ? { video } : {}),
    meta: {
      content_id: id, task: task().id, consent: { version: c.version, scopes }, device_quality: report,
      ...(video ? { video: { sha256: await sha256Hex(new Uint8Array(await video.arrayBuffer())), type: video.type, bytes: video.size } } : {}),
    },
    queuedAt: Date.now(),
  };
  await outbox.put(p);
  ($('send') as HTMLButtonElement).disabled = true;
  await deliver(p);
}

/** Content ids being sent now: the periodic retry leaves them alone. */
const inFlight = new Set<string>();

/** Try one queued upload. Network trouble keeps it queued; an answer (verdict or refusal) ends it. */
async function deliver(p: Pending): Promise<boolean> {
  if (inFlight.has(p.contentId)) return true;
  inFlight.add(p.contentId);
  status('Sending…');
  try {
    const r = await sendUpload(state.token!, p);
    await outbox.remove(p.contentId);
    showResult(r);
    void refreshEpisodes();
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status < 500 && err.status !== 408 && err.status !== 429) {
      await outbox.remove(p.contentId);
      $('result').textContent = '';
      status(`Refused: ${err.message}`, 'error');
      return true;
    }
    status(`Not sent yet (${(err as Error).message}); it is kept on this device and sent again when the server can be reached.`, 'error');
    updateOutbox();
    return false;
  } finally {
    inFlight.delete(p.contentId);
  }
}

function showResult(r: { status: string; id?: string; reasons: string[]; duplicate?: boolean }): void {
  const el = $('result');
  el.innerHTML = '';
  const h = document.createElement('p');
  h.dataset.status = r.status;
  h.textContent = `${r.status === 'stored' ? 'Stored' : r.status === 'rejected' ? 'Not accepted' : r.status}${r.id ? ` as episode ${r.id.slice(0, 12)}` : ''}${r.duplicate ? ' (already received earlier)' : ''}`;
  el.append(h);
  const ul = document.createElement('ul');
  for (const reason of r.reasons) {
    const li = document.createElement('li');
    li.textContent = reason;
    ul.append(li);
  }
  el.append(ul);
  status(r.status === 'stored' ? 'Sent. Thank you.' : 'Sent; see why it was not accepted.', r.status === 'stored' ? 'info' : 'error');
}

let flushing = false;
async function flushOutbox(): Promise<void> {
  if (flushing || !state.token) return;
  flushing = true;
  try {
    for (const p of await outbox.all()) if (!(await deliver(p))) break;
  } finally {
    flushing = false;
    updateOutbox();
  }
}

function updateOutbox(): void {
  void outbox.all().then((all) => {
    $('outboxInfo').textContent = all.length ? `${all.length} upload(s) waiting to be sent.` : '';
  });
}

async function refreshEpisodes(): Promise<void> {
  if (!state.token) return;
  const list: { id: string; task: string | null; created: string; status: string }[] = (await signedFetch(state.token, 'GET', '/api/episodes')).episodes;
  const ul = $('episodes');
  ul.innerHTML = '';
  if (!list.length) ul.innerHTML = '<li>None yet.</li>';
  for (const e of list) {
    const li = document.createElement('li');
    li.dataset.episode = e.id;
    li.textContent = `${e.created.slice(0, 16).replace('T', ' ')} ${e.task ?? ''} — ${e.status} ${e.id.slice(0, 12)} `;
    if (e.status === 'stored') {
      const b = document.createElement('button');
      b.textContent = 'Withdraw';
      b.onclick = () => void withdraw(e.id).catch(fail);
      li.append(b);
    }
    ul.append(li);
  }
}

async function withdraw(id: string): Promise<void> {
  if (!confirm('Withdraw this episode? It and everything derived from it are deleted.')) return;
  const r = await signedFetch(state.token!, 'DELETE', `/api/episodes/${id}`);
  status(`Withdrawn: ${r.removed} item(s) deleted.`);
  await refreshEpisodes();
}

function fail(err: unknown): void {
  status((err as Error).message || String(err), 'error');
}

// ---- start ------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('sw.js').catch(() => undefined);
  state.token = readToken();
  $('tokenMissing').hidden = Boolean(state.token);
  $('who').textContent = state.token ? `Contributor ${state.token.id.slice(2, 10)}` : '';
  const [tasks, consent] = await Promise.all([getJson('api/tasks'), getJson('api/consent')]);
  state.tasks = tasks.tasks;
  state.consent = consent;
  const sel = $('taskSelect') as HTMLSelectElement;
  for (const t of state.tasks) sel.append(new Option(t.title, t.id));
  const wanted = new URLSearchParams(location.search).get('task');
  if (wanted && state.tasks.some((t) => t.id === wanted)) sel.value = wanted;
  sel.onchange = showTask;
  showTask();
  showConsent(consent);
  $('useCamera').onclick = () => void useCamera().catch(fail);
  ($('file') as HTMLInputElement).onchange = (e) => {
    const input = e.target as HTMLInputElement;
    const f = input.files?.[0];
    // Cleared, so that choosing the same file again is a change too (and captures it again).
    input.value = '';
    if (f) void useFile(f).catch(fail);
  };
  $('record').onclick = () => void toggleRecord().catch(fail);
  $('discard').onclick = () => {
    discard();
    status('Discarded: nothing was sent.');
  };
  $('send').onclick = () => {
    const r = state.review;
    if (r) void send(r.npz, r.report, r.contentId).catch(fail);
  };
  addEventListener('online', () => void flushOutbox());
  setInterval(() => void flushOutbox(), 30_000);
  updateSend();
  if (state.token) {
    await refreshEpisodes().catch(fail);
    await flushOutbox();
  }
  // For tests and automation: the same send path the button uses, and the last review.
  (globalThis as any).reel2real = { send, review: () => state.review, rate: () => state.rate, flushOutbox, setDecoder: (d: 'auto' | 'seek') => (state.decoder = d), ready: true };
  document.body.dataset.ready = '1';
}

void main().catch(fail);
