/**
 * `reel2real view`: a small HTTP server for the web viewer (three.js + urdf-loader). It serves the page,
 * three.js and urdf-loader from node_modules, the robot's URDF and meshes, and the episodes as JSON:
 *
 *   GET /                         the page
 *   GET /api/episodes             [{id, label, frames, fps, robot}]
 *   GET /api/episodes/<id>        {id, fps, timestamps, motion, human?, markers, video?, urdf}
 *   GET /api/episodes/<id>/video  the kept (sanitised) video, when there is one
 *   GET /robot/<id>/<path>        the URDF (robot.urdf) and files beside it (meshes)
 *
 * Sources: a motion `.npz` (with `--robot`, or the URDF path recorded in its meta), or an episode store.
 *
 * Requests are untrusted (any page the browser has open can send them): only GET and HEAD (405 otherwise);
 * the Host header must be an IP literal, localhost, or a name allowed with `allowHosts` (a DNS-rebinding
 * page arrives with its own name: 421); unknown episode ids are 404; files are served only when their real
 * path (symlinks resolved) lies inside the directory they are served from; no request can stop the server.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.ts';
import { loadMotion, type RobotMotion } from '../robot/motion.ts';
import { loadTrack, type PoseTrack } from '../pose/track.ts';
import { loadUrdf } from '../robot/urdf.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const NODE_MODULES = path.resolve(here, '..', '..', 'node_modules');

/** One thing to show: a robot motion, optionally the human track it came from and its reports. */
export interface ViewerEpisode {
  id: string;
  label: string;
  motion: RobotMotion;
  urdf: string;
  track?: PoseTrack;
  quality?: Record<string, unknown>;
  validation?: Record<string, unknown>;
  masks?: Record<string, Uint8Array>;
  video?: string;
}

export interface ViewerSource {
  list(): { id: string; label: string }[];
  get(id: string): ViewerEpisode;
}

/** A viewer source for one motion file (and optionally its pose track). */
export function motionFileSource(file: string, opts: { robot?: string; track?: string } = {}): ViewerSource {
  const motion = loadMotion(file);
  const urdf = opts.robot ?? (motion.robot.urdf as string | undefined);
  if (!urdf) throw new UserError('the motion does not record its URDF; give --robot <urdf>', file);
  if (!fs.existsSync(urdf)) throw new UserError(`robot URDF ${urdf} not found; give --robot <urdf>`, file);
  // The motion must be for this robot: same URDF (when the motion records it) and joints it has.
  const model = loadUrdf(urdf, { checkMeshes: false });
  const made = motion.robot?.urdf_sha256;
  if (typeof made === 'string' && /^[0-9a-f]{64}$/.test(made) && made !== model.sha256) {
    throw new UserError(`the motion was made for robot ${motion.robot.name} (URDF sha256 ${made.slice(0, 12)}…), not ${model.name} (${model.sha256.slice(0, 12)}…)`, file);
  }
  const names = new Set(model.joints.map((j) => j.name));
  const unknown = motion.jointNames.filter((n) => !names.has(n));
  if (unknown.length) throw new UserError(`motion names joints ${model.name} does not have: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`, file);
  const track = opts.track ? loadTrack(opts.track) : undefined;
  const ep: ViewerEpisode = {
    id: 'motion',
    label: path.basename(file),
    motion,
    urdf: path.resolve(urdf),
    track,
    quality: motion.quality,
  };
  return { list: () => [{ id: ep.id, label: ep.label }], get: () => ep };
}

/** A frame to mark on a timeline lane: what, in words, and whether it is a failure (red) or a warning (amber). */
export interface TimelineMarker {
  lane: 'quality' | 'validation';
  frame: number;
  kind: string;
  label: string;
  severity: 'failure' | 'warning';
  detail?: string;
}

/** The quality gate's per-frame masks in words ('any', their union, is not drawn: the others say why). */
const MASK_LABELS: Record<string, string> = {
  missing: 'body not seen',
  low_confidence: 'low keypoint confidence',
  after_drop: 'after a dropped frame',
  jitter: 'keypoint jitter',
  bone_outlier: 'bone length off',
  cutoff: 'cut off at the image border',
};
const maskLabel = (name: string): string =>
  MASK_LABELS[name] ?? (name.endsWith('_missing') ? `${name.slice(0, -'_missing'.length).replace(/_/g, ' ')} not seen` : name.replace(/[._]/g, ' '));

/**
 * Frames to mark on the timelines: from per-frame masks, quality reasons and validation events. Quality
 * rejects and hard validation reasons are failures; quality flags, masks and soft validation reasons warnings.
 */
export function timelineMarkers(ep: ViewerEpisode): TimelineMarker[] {
  const out: TimelineMarker[] = [];
  for (const [name, mask] of Object.entries(ep.masks ?? {})) {
    if (name === 'any') continue;
    const label = maskLabel(name);
    for (let f = 0; f < mask.length; f++) if (mask[f]) out.push({ lane: 'quality', frame: f, kind: name, label, severity: 'warning' });
  }
  const reasons = (ep.quality?.reasons ?? []) as { code?: string; message?: string; frames?: unknown; severity?: string }[];
  for (const r of Array.isArray(reasons) ? reasons : []) {
    const kind = String(r.code ?? 'quality');
    const severity = r.severity === 'reject' ? 'failure' : 'warning';
    for (const f of framesOf(r.frames)) out.push({ lane: 'quality', frame: f, kind, label: r.message ?? kind.replace(/[._]/g, ' '), severity });
  }
  const hard = new Map<string, boolean>();
  const vreasons = (ep.validation?.reasons ?? []) as { kind?: string; hard?: boolean; message?: string }[];
  for (const r of Array.isArray(vreasons) ? vreasons : []) if (r.kind) hard.set(r.kind, (hard.get(r.kind) ?? false) || !!r.hard);
  const vmessage = new Map(vreasons.filter((r) => r.kind && r.message).map((r) => [r.kind!, r.message!]));
  const events = (ep.validation?.events ?? []) as { frame?: number; kind?: string; detail?: unknown }[];
  for (const e of Array.isArray(events) ? events : []) {
    if (typeof e.frame !== 'number') continue;
    const kind = String(e.kind ?? 'event');
    out.push({
      lane: 'validation', frame: e.frame, kind,
      label: vmessage.get(kind)?.split(':')[0] ?? kind.replace(/[._]/g, ' '),
      severity: hard.get(kind) === false ? 'warning' : 'failure',
      detail: typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail ?? ''),
    });
  }
  return out;
}

/** Frames listed as numbers, [start, end] ranges, or {start, end} objects. */
function framesOf(v: unknown): number[] {
  if (!Array.isArray(v)) return [];
  const out: number[] = [];
  for (const x of v) {
    if (typeof x === 'number') out.push(x);
    else if (Array.isArray(x) && x.length === 2) for (let f = x[0]; f <= x[1] && f - x[0] < 100000; f++) out.push(f);
    else if (x && typeof x === 'object' && 'start' in x) {
      const r = x as { start: number; end: number };
      for (let f = r.start; f <= r.end && f - r.start < 100000; f++) out.push(f);
    }
  }
  return out;
}

function episodeJson(ep: ViewerEpisode): unknown {
  const m = ep.motion;
  const T = m.timestamps.length;
  const n = m.jointNames.length;
  const rows = (a: ArrayLike<number>, w: number) => Array.from({ length: a.length / w }, (_, i) => Array.from({ length: w }, (_, k) => round(a[i * w + k])));
  let human: unknown = undefined;
  if (ep.track) {
    const t = ep.track;
    const J = t.jointNames.length;
    // Sample the human at the motion's timestamps (nearest frame), so both play on one clock.
    const frames: (number | null)[][] = [];
    let k = 0;
    for (let i = 0; i < T; i++) {
      while (k + 1 < t.timestamps.length && Math.abs(t.timestamps[k + 1] - m.timestamps[i]) <= Math.abs(t.timestamps[k] - m.timestamps[i])) k++;
      const row: (number | null)[] = new Array(J * 3);
      for (let j = 0; j < J * 3; j++) {
        const v = t.positions[k * J * 3 + j];
        row[j] = Number.isFinite(v) ? round(v) : null;
      }
      frames.push(row);
    }
    human = { joint_names: t.jointNames, parents: t.parents, frames };
  }
  return {
    id: ep.id,
    label: ep.label,
    fps: m.fps,
    frames: T,
    timestamps: Array.from(m.timestamps),
    robot: m.robot.name,
    joint_names: m.jointNames,
    q: rows(m.q, n),
    root_pos: rows(m.rootPos, 3),
    root_quat: rows(m.rootQuat, 4),
    human,
    markers: timelineMarkers(ep),
    feasible: (ep.validation as { feasible?: boolean } | undefined)?.feasible ?? null,
    verdict: (ep.quality as { verdict?: string } | undefined)?.verdict ?? null,
    video: ep.video ? `/api/episodes/${encodeURIComponent(ep.id)}/video` : null,
    urdf: `/robot/${encodeURIComponent(ep.id)}/robot.urdf`,
  };
}

const round = (v: number) => Math.round(v * 1e5) / 1e5;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.json': 'application/json',
  '.urdf': 'application/xml', '.stl': 'model/stl', '.STL': 'model/stl', '.dae': 'model/vnd.collada+xml',
  '.obj': 'text/plain', '.glb': 'model/gltf-binary', '.mp4': 'video/mp4', '.css': 'text/css', '.png': 'image/png',
};

/**
 * The real path of `root/rel` when it is a regular file whose real path (every symlink resolved) lies
 * inside the real `root`; else null. A `<store>/videos/<id>.mp4` linked to /etc/passwd is not served.
 */
export function fileInside(root: string, rel: string): string | null {
  try {
    const realRoot = fs.realpathSync(root);
    const abs = path.resolve(realRoot, '.' + path.sep + rel);
    if (!abs.startsWith(realRoot + path.sep)) return null;
    const real = fs.realpathSync(abs);
    if (!real.startsWith(realRoot + path.sep) || !fs.statSync(real).isFile()) return null;
    return real;
  } catch {
    return null;
  }
}

/** Serve a file only if it lies inside `root` (no path traversal, no symlink out of it). */
function sendFile(res: http.ServerResponse, root: string, rel: string): void {
  const abs = fileInside(root, rel);
  if (!abs) {
    res.writeHead(404).end('not found');
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[path.extname(abs)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  if (res.req?.method === 'HEAD') return void res.end();
  fs.createReadStream(abs).on('error', () => res.destroy()).pipe(res);
}

/** Whether a Host header may reach the viewer: IP literals, localhost, and the names in `allow`. */
export function hostAllowed(host: string | undefined, allow: string[] = []): boolean {
  if (!host) return false;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]]+)(?::(\d{1,5}))?$/.exec(host.trim());
  if (!m) return false;
  const name = m[1].replace(/^\[|\]$/g, '').toLowerCase();
  if (net.isIP(name)) return true;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  return allow.some((a) => a.toLowerCase() === name);
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * Serve a video file with its length and HTTP Range support (RFC 9110 §14: one `bytes=a-b`, `a-` or `-n`
 * range → 206 with Content-Range; an unsatisfiable one → 416). Browsers seek in a video only when the
 * server answers ranges; without them Chromium keeps showing the first frame.
 */
function sendRanged(req: http.IncomingMessage, res: http.ServerResponse, file: string): void {
  let size: number;
  try { size = fs.statSync(file).size; } catch { return void res.writeHead(404).end('not found'); }
  const head = { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'accept-ranges': 'bytes', 'cache-control': 'no-cache' };
  const range = req.headers.range;
  const m = range ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) {
    // No range (or one we do not parse, e.g. several ranges): the whole file, as RFC 9110 allows.
    res.writeHead(200, { ...head, 'content-length': String(size) });
    if (req.method === 'HEAD') return void res.end();
    return void fs.createReadStream(file).pipe(res);
  }
  let start: number, end: number;
  if (m[1] === '') { start = Math.max(0, size - Number(m[2])); end = size - 1; } // the last n bytes
  else { start = Number(m[1]); end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1); }
  if (start >= size || start > end) {
    return void res.writeHead(416, { ...head, 'content-range': `bytes */${size}` }).end();
  }
  res.writeHead(206, { ...head, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': String(end - start + 1) });
  if (req.method === 'HEAD') return void res.end();
  fs.createReadStream(file, { start, end }).pipe(res);
}

/**
 * The URDF as served to the page: every mesh filename (package://, absolute or relative) rewritten to
 * `mesh/<k>.<ext>`, which the server maps back to the file our URDF loader resolved.
 */
const robotCache = new Map<string, { text: string; meshes: Map<string, string> }>();
function robotFiles(urdf: string): { text: string; meshes: Map<string, string> } {
  const hit = robotCache.get(urdf);
  if (hit) return hit;
  const robot = loadUrdf(urdf);
  const byUri = new Map<string, string>();
  for (const l of robot.links) {
    for (const g of [...l.visuals, ...l.collisions].map((v) => v.geometry)) if (g.kind === 'mesh') byUri.set(g.uri, g.file);
  }
  const meshes = new Map<string, string>();
  let k = 0;
  let text = fs.readFileSync(urdf, 'utf8');
  for (const [uri, file] of byUri) {
    const name = `mesh/${k++}${path.extname(file)}`;
    meshes.set(name, file);
    text = text.split(`filename="${uri}"`).join(`filename="${name}"`);
  }
  const out = { text, meshes };
  robotCache.set(urdf, out);
  return out;
}

export interface ViewerServer {
  url: string;
  close(): Promise<void>;
}

export function startViewer(source: ViewerSource, opts: { port?: number; host?: string; allowHosts?: string[] } = {}): Promise<ViewerServer> {
  const cache = new Map<string, ViewerEpisode>();
  // Only ids the source lists are looked up (an unknown id is a 404, never a lookup of whatever the URL says).
  const episode = (id: string) => {
    if (!cache.has(id)) {
      if (!source.list().some((e) => e.id === id)) throw new HttpError(404, 'no such episode');
      cache.set(id, source.get(id));
    }
    return cache.get(id)!;
  };
  const allow = [...(opts.allowHosts ?? []), ...(opts.host && !net.isIP(opts.host) ? [opts.host] : [])];
  const server = http.createServer((req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'only GET and HEAD');
      if (!hostAllowed(req.headers.host, allow)) throw new HttpError(421, 'unexpected Host header (give the name with --allow-host)');
      const url = new URL(req.url ?? '/', 'http://localhost');
      let p: string;
      try {
        p = decodeURIComponent(url.pathname);
      } catch {
        throw new HttpError(400, 'malformed URL');
      }
      if (p.includes('\0')) throw new HttpError(400, 'malformed URL');
      if (p === '/' || p === '/index.html') return sendFile(res, path.join(here, 'page'), 'index.html');
      if (p.startsWith('/page/')) return sendFile(res, path.join(here, 'page'), p.slice('/page/'.length));
      if (p.startsWith('/vendor/three/')) return sendFile(res, path.join(NODE_MODULES, 'three'), p.slice('/vendor/three/'.length));
      if (p.startsWith('/vendor/urdf-loader/')) return sendFile(res, path.join(NODE_MODULES, 'urdf-loader', 'src'), p.slice('/vendor/urdf-loader/'.length));
      if (p === '/api/episodes') {
        const list = source.list();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(list));
        return;
      }
      let m = /^\/api\/episodes\/([^/]+)$/.exec(p);
      if (m) {
        // The body first: a lookup that fails must not follow headers already sent.
        const body = JSON.stringify(episodeJson(episode(m[1])));
        res.writeHead(200, { 'content-type': 'application/json' }).end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      m = /^\/api\/episodes\/([^/]+)\/video$/.exec(p);
      if (m) {
        const ep = episode(m[1]);
        if (!ep.video) return void res.writeHead(404).end('no video kept');
        return sendRanged(req, res, ep.video);
      }
      m = /^\/robot\/([^/]+)\/(.+)$/.exec(p);
      if (m) {
        const robot = robotFiles(episode(m[1]).urdf);
        if (m[2] === 'robot.urdf') {
          res.writeHead(200, { 'content-type': 'application/xml', 'cache-control': 'no-cache' }).end(robot.text);
          return;
        }
        const file = robot.meshes.get(m[2]);
        if (!file) return void res.writeHead(404).end('not found');
        return sendFile(res, path.dirname(file), path.basename(file));
      }
      res.writeHead(404).end('not found');
    } catch (err) {
      // Never a second writeHead, never a throw out of the handler: a request cannot stop the server.
      if (res.headersSent) return void res.destroy();
      const status = err instanceof HttpError ? err.status : err instanceof UserError ? 404 : 500;
      const head: http.OutgoingHttpHeaders = { 'content-type': 'text/plain; charset=utf-8' };
      if (status === 405) head.allow = 'GET, HEAD';
      res.writeHead(status, head).end(status === 500 ? 'internal error' : String((err as Error).message).split('\n')[0]);
    }
  });
  // Malformed HTTP (bad request line, oversized headers): answer 400 and close; never an uncaught error.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    else socket.destroy();
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new UserError(`port ${opts.port} is in use`) : err));
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      const addr = server.address() as { port: number };
      resolve({
        url: `http://${opts.host ?? '127.0.0.1'}:${addr.port}/`,
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
      });
    });
  });
}
