/**
 * `contribute --tls-cert/--tls-key`: the server speaks https with the operator's certificate, and a phone's
 * browser needs exactly that. A certificate made at test time (openssl, for the name phone.test); Node clients
 * check the handshake; Debian's chromium, resolving phone.test to 127.0.0.1 and trusting that certificate's key,
 * shows that the page over https is a secure, cross-origin-isolated context with a camera API, and over plain
 * http on the same name is not (no camera at all).
 */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerContributor } from '../../src/contribute/auth.ts';
import { startContribute, type ContributeServer } from '../../src/contribute/server.ts';
import { UserError } from '../../src/errors.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';
import { CHROMIUM, launch, signedHeaders, tmpDir } from './helpers.ts';

const OPENSSL = ['/usr/bin/openssl', '/usr/local/bin/openssl'].find((p) => fs.existsSync(p));
const key = Buffer.alloc(32, 0x44);
// Requests here never retarget: the robot is the project's own and is not read.
const ROBOT = path.join(PROJECT_ROOT, 'robots/r2r_humanoid/r2r_humanoid.urdf');

function certificate(dir: string, name: string): { cert: string; key: string } {
  const out = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  execFileSync(OPENSSL!, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=phone.test',
    '-addext', 'subjectAltName=DNS:phone.test', '-keyout', out.key, '-out', out.cert], { stdio: 'ignore' });
  return out;
}

/** GET over https to the server's port, as a client that trusts `ca` (or the system's roots when null). */
function get(port: number, pathname: string, ca: Buffer | null, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: pathname, servername: 'phone.test', headers: { host: `phone.test:${port}`, ...headers }, ...(ca ? { ca } : {}) }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

describe.skipIf(!OPENSSL)('contribute over TLS', () => {
  let dir = '';
  let tls: { cert: string; key: string };
  let server: ContributeServer;
  let plain: ContributeServer;
  let token = '';
  let port = 0;

  beforeAll(async () => {
    dir = tmpDir('contribute-tls');
    tls = certificate(dir, 'phone');
    const store = path.join(dir, 'store');
    token = registerContributor(store, 'worker-tls', key).token;
    server = await startContribute({ store, robot: ROBOT, key, bind: '127.0.0.1:0', tls });
    plain = await startContribute({ store, robot: ROBOT, key, bind: '127.0.0.1:0' });
    port = Number(new URL(server.url).port);
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await plain?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page and the signed API over https with the given certificate', async () => {
    expect(server.url).toMatch(/^https:\/\//);
    const ca = fs.readFileSync(tls.cert);
    const page = await get(port, '/', ca);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="module" src="app.js">');
    expect(page.headers['cross-origin-embedder-policy']).toBe('require-corp');
    // A signed request over the same connection kind (as web/api.ts signs it).
    const r = await get(port, '/api/episodes', ca, signedHeaders(token, 'GET', '/api/episodes'));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).episodes).toEqual([]);
  });

  it('a client that does not trust the certificate is stopped in the handshake; plain http gets no page', async () => {
    await expect(get(port, '/', null)).rejects.toThrow(/self[- ]signed|certificate/i);
    // Plain http to the TLS port: the server answers no HTTP at all (the bytes are not a TLS hello).
    const answer = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: phone.test\r\n\r\n'));
      let got = '';
      s.on('data', (c) => (got += c.toString('latin1')));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
      setTimeout(() => s.destroy(), 5000);
    });
    expect(answer).not.toMatch(/^HTTP\/1\.[01] 200/);
    expect(answer).not.toContain('<!doctype html>');
  });

  it('bad certificate files: one line naming the file, nothing served', async () => {
    const store = path.join(dir, 'store');
    const start = (t: { cert: string; key: string }) => startContribute({ store, robot: ROBOT, key, bind: '127.0.0.1:0', tls: t });
    await expect(start({ cert: path.join(dir, 'missing.crt'), key: tls.key })).rejects.toThrow(/missing\.crt: no such file/);
    await expect(start({ cert: tls.key, key: tls.key })).rejects.toThrow(/phone\.key: not a PEM certificate/);
    await expect(start({ cert: tls.cert, key: tls.cert })).rejects.toThrow(/phone\.crt: not a PEM private key/);
    const other = certificate(dir, 'other');
    const err = await start({ cert: tls.cert, key: other.key }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/phone\.crt: cannot serve https with this certificate and key/);
    expect(err.message).not.toContain('\n');
  });

  it.skipIf(!CHROMIUM)('in chromium on a network name: https gives a secure, isolated page with a camera API; plain http does not', async () => {
    // The browser trusts this certificate's public key (as a phone trusts an operator's certificate once installed).
    const spki = createHash('sha256').update(new X509Certificate(fs.readFileSync(tls.cert)).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    const browser = await launch('/dev/null', ['--host-resolver-rules=MAP phone.test 127.0.0.1', `--ignore-certificate-errors-spki-list=${spki}`]);
    try {
      const page = await browser.newPage();
      const probe = `({ secure: isSecureContext, isolated: crossOriginIsolated, camera: typeof navigator.mediaDevices?.getUserMedia, worker: 'serviceWorker' in navigator })`;
      await page.goto(`https://phone.test:${port}/#token=${token}`);
      await page.waitForSelector('body[data-ready="1"]', { timeout: 60_000 });
      expect(await page.evaluate(probe)).toEqual({ secure: true, isolated: true, camera: 'function', worker: true });
      // The service worker registered over https (it caches the page and models for offline use).
      expect(await page.evaluate(`navigator.serviceWorker.getRegistration().then((r) => Boolean(r))`)).toBe(true);
      await page.goto(`http://phone.test:${new URL(plain.url).port}/`);
      expect(await page.evaluate(probe)).toEqual({ secure: false, isolated: false, camera: 'undefined', worker: false });
    } finally {
      await browser.close();
    }
  }, 120_000);
});
