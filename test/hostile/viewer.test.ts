/**
 * The viewer under hostile requests (issue 16 item 6): unknown ids, methods other than GET/HEAD, foreign Host
 * headers (DNS rebinding), malformed URLs and request lines, path traversal, and a kept video symlinked out of
 * the store. In-process for most, and once against the real `reel2real view` process, which must survive all
 * of them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.ts';
import { loadUrdf } from '../../src/robot/urdf.ts';
import { Kinematics } from '../../src/robot/kinematics.ts';
import type { RobotMotion } from '../../src/robot/motion.ts';
import { keptVideoPath } from '../../src/privacy/purge.ts';
import { fileInside, hostAllowed, startViewer, type ViewerServer } from '../../src/viewer/server.ts';
import { storeSource } from '../../src/viewer/store-source.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';

const HUMANOID = path.join(PROJECT_ROOT, 'robots/r2r_humanoid/r2r_humanoid.urdf');
let tmp: string;
let store: string;
let id: string;
let server: ViewerServer;
let port: number;

function motion(): RobotMotion {
  const robot = loadUrdf(HUMANOID);
  const kin = new Kinematics(robot);
  const T = 5;
  const rootQuat = new Float32Array(T * 4);
  for (let t = 0; t < T; t++) rootQuat[4 * t] = 1;
  return {
    q: new Float32Array(T * kin.nq), rootPos: new Float32Array(T * 3), rootQuat, timestamps: Float64Array.from({ length: T }, (_, i) => i / 10), fps: 10,
    jointNames: kin.dofNames, rootLink: robot.rootLink, robot: { name: robot.name, urdf_sha256: robot.sha256 },
  };
}

/** One raw HTTP exchange: the status code (0 when the connection closed without one) and the body. */
function raw(p: number, request: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const s = net.connect(p, '127.0.0.1');
    let data = '';
    s.on('data', (d) => { data += d.toString('latin1'); });
    s.on('error', () => {});
    s.on('close', () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      resolve({ status: m ? Number(m[1]) : 0, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
    s.end(request);
  });
}
const req = (p: number, method: string, target: string, host: string | null = `127.0.0.1:${p}`) =>
  raw(p, `${method} ${target} HTTP/1.0\r\n${host === null ? '' : `Host: ${host}\r\n`}\r\n`); // 1.0: a plain body, not chunked

/** The hostile requests and the status each must get; the same list for the in-process and the CLI server. */
function hostile(p: number): [string, () => Promise<{ status: number; body: string }>, number][] {
  const unknown = 'f'.repeat(64);
  return [
    ['unknown episode id', () => req(p, 'GET', `/api/episodes/${unknown}`), 404],
    ['unknown id, HEAD', () => req(p, 'HEAD', `/api/episodes/${unknown}`), 404],
    ['unknown id, not hex', () => req(p, 'GET', '/api/episodes/..%2f..%2fetc%2fpasswd'), 404],
    ['unknown id video', () => req(p, 'GET', `/api/episodes/${unknown}/video`), 404],
    ['unknown id robot', () => req(p, 'GET', `/robot/${unknown}/robot.urdf`), 404],
    ['malformed percent-encoding', () => req(p, 'GET', '/api/episodes/%E0%A4%A'), 400],
    ['NUL in the path', () => req(p, 'GET', '/page/index.html%00.js'), 400],
    ['traversal out of the page dir', () => req(p, 'GET', '/page/..%2f..%2f..%2f..%2fetc%2fpasswd'), 404],
    ['traversal out of node_modules', () => req(p, 'GET', '/vendor/three/..%2f..%2fpackage.json'), 404],
    ['POST', () => req(p, 'POST', '/api/episodes'), 405],
    ['PUT', () => req(p, 'PUT', '/'), 405],
    ['DELETE', () => req(p, 'DELETE', `/api/episodes/${unknown}`), 405],
    ['OPTIONS', () => req(p, 'OPTIONS', '*'), 405],
    ['DNS rebinding Host', () => req(p, 'GET', '/api/episodes', `attacker.example:${p}`), 421],
    ['Host lookalike', () => req(p, 'GET', '/api/episodes', `localhost.attacker.example`), 421],
    ['no Host header', () => raw(p, 'GET /api/episodes HTTP/1.0\r\n\r\n'), 421],
    ['garbage request line', () => raw(p, '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 tls hello\r\n\r\n'), 400],
    ['huge header', () => raw(p, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: ${'a'.repeat(100_000)}\r\n\r\n`), 431],
  ];
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-hostile-view-'));
  store = path.join(tmp, 'store');
  id = openStore(store, { create: true }).put({
    provenance: { contributor: 'p-' + '0'.repeat(64), consent: { id: 'c', version: '1', scopes: ['robot-training'], expires: null }, sources: [{ file: 'x.npz', sha256: '1'.repeat(64) }] },
    motion: motion(), quality: { verdict: 'pass' }, validation: { feasible: true },
  });
  // The kept video of the episode is a symlink to a file outside the store.
  const secret = path.join(tmp, 'secret.txt');
  fs.writeFileSync(secret, 'root:x:0:0:the secret');
  fs.mkdirSync(path.join(store, 'videos'));
  fs.symlinkSync(secret, keptVideoPath(store, id));
  server = await startViewer(storeSource(store, { robot: HUMANOID }), { port: 0 });
  port = Number(new URL(server.url).port);
});
afterAll(async () => {
  await server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('viewer under hostile requests', () => {
  it('answers each with the right status, and keeps serving', async () => {
    for (const [what, send, status] of hostile(port)) {
      const r = await send();
      expect(r.status, what).toBe(status);
      expect(r.body, what).not.toMatch(/root:x|the secret|"dependencies"/);
    }
    const ok = await req(port, 'GET', '/api/episodes');
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual([expect.objectContaining({ id })]);
    expect((await req(port, 'GET', '/api/episodes', `localhost:${port}`)).status).toBe(200);
    expect((await req(port, 'GET', '/api/episodes', `[::1]:${port}`)).status).toBe(200);
  });

  it('does not follow a kept video symlinked out of the store', async () => {
    const ep = await req(port, 'GET', `/api/episodes/${id}`);
    expect(ep.status).toBe(200);
    expect(JSON.parse(ep.body).video).toBeNull();
    const v = await req(port, 'GET', `/api/episodes/${id}/video`);
    expect(v.status).toBe(404);
    expect(v.body).not.toContain('the secret');
  });

  it('fileInside resolves real paths; hostAllowed takes IPs, localhost and named hosts only', () => {
    const root = path.join(tmp, 'root');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(root, 'sub', 'a.txt'), 'a');
    fs.symlinkSync(path.join(root, 'sub', 'a.txt'), path.join(root, 'inside-link'));
    fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(root, 'outside-link'));
    fs.symlinkSync(tmp, path.join(root, 'dir-link'));
    expect(fileInside(root, 'sub/a.txt')).toBe(fs.realpathSync(path.join(root, 'sub', 'a.txt')));
    expect(fileInside(root, 'inside-link')).not.toBeNull();
    expect(fileInside(root, 'outside-link')).toBeNull();
    expect(fileInside(root, 'dir-link/secret.txt')).toBeNull();
    expect(fileInside(root, '../secret.txt')).toBeNull();
    expect(fileInside(root, 'sub')).toBeNull();
    expect(fileInside(root, 'missing')).toBeNull();
    for (const h of ['127.0.0.1', '127.0.0.1:8080', '[::1]:80', 'localhost', 'LOCALHOST:1', '10.0.0.7:8080']) expect(hostAllowed(h), h).toBe(true);
    for (const h of [undefined, '', 'evil.example', 'evil.example:8080', '127.0.0.1.nip.io', 'localhost.evil.example', 'a b']) expect(hostAllowed(h), String(h)).toBe(false);
    expect(hostAllowed('lab-box:8080', ['lab-box'])).toBe(true);
  });

  it('the `reel2real view` process survives every hostile request', async () => {
    const child: ChildProcess = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin/reel2real.js'), 'view', store, '--robot', HUMANOID, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => { err += d; });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const t = setInterval(() => {
          const m = /(http:\/\/[^\s]+)/.exec(out);
          if (m) { clearInterval(t); resolve(m[1]); }
          if (child.exitCode !== null) { clearInterval(t); reject(new Error(`view exited: ${err}`)); }
        }, 50);
      });
      const p = Number(new URL(url).port);
      for (const [what, send, status] of hostile(p)) expect((await send()).status, what).toBe(status);
      expect(child.exitCode).toBeNull();
      expect((await req(p, 'GET', '/api/episodes')).status).toBe(200);
      expect(err).toBe('');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 60_000);
});
