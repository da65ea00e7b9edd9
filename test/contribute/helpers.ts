/**
 * Shared set-up of the contribute tests: clips made at test time from ../shared/data with ffmpeg, the server on
 * a temporary store with one registered contributor, Debian's chromium with a fake camera, and a log of every
 * request the page makes (with its body size and content type).
 */
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { NdArray } from '../../src/io/npz.ts';
import { decodeNpz } from '../../src/io/npz.ts';
import { trackFromNpz, type PoseTrack } from '../../src/pose/track.ts';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
export const FFMPEG = ['/usr/bin/ffmpeg', '/usr/local/bin/ffmpeg'].find((p) => fs.existsSync(p));

/**
 * A clip both decoders give identical pixels for: VP9 lossless in planar RGB (gbrp), every frame a key frame (the
 * page seeks to each frame), in MP4 (the page reads the frame times from its sample tables). Chromium and ffmpeg
 * decode it to the same RGB bytes, so the comparison with `reel2real capture` feeds both the same frames.
 */
export function losslessClip(src: string, out: string, frames: number): string {
  execFileSync(FFMPEG!, ['-v', 'error', '-y', '-i', src, '-frames:v', String(frames), '-an', '-c:v', 'libvpx-vp9', '-lossless', '1', '-pix_fmt', 'gbrp', '-g', '1', '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1', '-threads', '1', out]);
  return out;
}

/** A .y4m for Chromium's fake camera (it loops the file at the file's frame rate). */
export function y4mClip(src: string, out: string, frames: number, fps: number): string {
  execFileSync(FFMPEG!, ['-v', 'error', '-y', '-i', src, '-frames:v', String(frames), '-vf', `fps=${fps}`, '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', out]);
  return out;
}

export async function launch(y4m: string, extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${y4m}`, ...extraArgs,
    ],
  });
}

export interface Sent {
  method: string;
  url: string;
  type: string;
  contentType: string;
  bytes: number;
  body: Buffer | null;
  headers: Record<string, string>;
}

/**
 * A reverse proxy in front of the server that records every request passing through it (method, path, content
 * type, the body's bytes): the page is opened at the proxy's address, so everything it (and its service worker)
 * sends goes through here, byte for byte.
 */
export async function recordingProxy(target: string): Promise<{ url: string; sent: Sent[]; close(): Promise<void> }> {
  const t = new URL(target);
  const sent: Sent[] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      sent.push({ method: req.method ?? '', url: req.url ?? '', type: '', contentType: String(req.headers['content-type'] ?? ''), bytes: body.length, body: body.length ? body : null, headers: req.headers as Record<string, string> });
      const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    sent,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** The track the page captured and holds for review. */
export async function reviewedTrack(page: Page): Promise<{ track: PoseTrack; npz: Buffer; report: any }> {
  const r = await page.evaluate(() => {
    const v = (globalThis as any).reel2real.review();
    let s = '';
    for (let i = 0; i < v.npz.length; i += 0x8000) s += String.fromCharCode(...v.npz.subarray(i, i + 0x8000));
    return { b64: btoa(s), report: v.report };
  });
  const npz = Buffer.from(r.b64, 'base64');
  return { track: trackFromNpz(decodeNpz(npz, 'page'), 'page'), npz, report: r.report };
}

/** Mean distance (metres) between two tracks' joints whose names start with `prefix`, relative to `origin` joint when given. */
export function meanError(a: PoseTrack, b: PoseTrack, prefix: string, origin?: string): { mean: number; n: number; presenceMismatch: number } {
  const J = a.jointNames.length;
  const T = Math.min(a.timestamps.length, b.timestamps.length);
  const o = origin ? a.jointNames.indexOf(origin) : -1;
  let s = 0;
  let n = 0;
  let presenceMismatch = 0;
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < J; j++) {
      if (!a.jointNames[j].startsWith(prefix)) continue;
      const p = (t * J + j) * 3;
      const q = (t * J + o) * 3;
      let d2 = 0;
      for (let k = 0; k < 3; k++) {
        const da = a.positions[p + k] - (o >= 0 ? a.positions[q + k] : 0);
        const db = b.positions[p + k] - (o >= 0 ? b.positions[q + k] : 0);
        d2 += (da - db) ** 2;
      }
      if (Number.isFinite(d2)) {
        s += Math.sqrt(d2);
        n++;
      } else if (Number.isFinite(a.positions[p]) !== Number.isFinite(b.positions[p])) presenceMismatch++;
    }
  }
  return { mean: n ? s / n : NaN, n, presenceMismatch };
}

export function tmpDir(name: string): string {
  const d = path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), `reel2real-${name}-${process.pid}`);
  fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** Mean distance (metres) between two [T,21,3] arrays (e.g. the unfiltered wrist-centred hand world points hand_local_*), where both are present. */
export function meanArrayError(a: NdArray, b: NdArray): { mean: number; n: number } {
  let s = 0;
  let n = 0;
  const T = Math.min(a.shape[0], b.shape[0]);
  for (let i = 0; i < T * 21; i++) {
    const d = Math.hypot(Number(a.data[3 * i]) - Number(b.data[3 * i]), Number(a.data[3 * i + 1]) - Number(b.data[3 * i + 1]), Number(a.data[3 * i + 2]) - Number(b.data[3 * i + 2]));
    if (Number.isFinite(d)) {
      s += d;
      n++;
    }
  }
  return { mean: n ? s / n : NaN, n };
}

/** A request signed as the page signs it (web/api.ts), with the secret of `token` (`<pseudonym>.<serial>.<secret>`). */
export function signRequest(token: string, method: string, pathname: string, digest = '', time = Math.floor(Date.now() / 1000), nonce = randomBytes(16).toString('hex')) {
  const [pseudonym, serial, secret] = token.split('.');
  const signature = createHmac('sha256', secret).update([method, pathname, String(time), nonce, digest].join('\n')).digest('hex');
  return { token: `${pseudonym}.${serial}`, time: String(time), nonce, signature };
}

/** The same as HTTP headers. */
export function signedHeaders(token: string, method: string, pathname: string, digest = ''): Record<string, string> {
  const h = signRequest(token, method, pathname, digest);
  return { 'x-r2r-token': h.token, 'x-r2r-time': h.time, 'x-r2r-nonce': h.nonce, 'x-r2r-signature': h.signature };
}
