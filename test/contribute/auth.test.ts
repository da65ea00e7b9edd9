/**
 * The contribute server's request signatures and one-time nonces, without a browser: a request accepted once is
 * refused when replayed, also after the server (or its Authenticator) restarts on the same store, because used
 * nonces are persisted in <store>/contribute/nonces.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuthError, Authenticator, registerContributor } from '../../src/contribute/auth.ts';
import { startContribute } from '../../src/contribute/server.ts';
import { UserError } from '../../src/errors.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';
import { signRequest as signed, tmpDir } from './helpers.ts';

const key = Buffer.alloc(32, 0x33);
const dir = tmpDir('contribute-auth');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AuthError);
    return (err as Error).message;
  }
  throw new Error('expected the request to be refused');
};

describe('contribute request nonces', () => {
  it('a nonce used before a restart is refused after it; a fresh one is accepted', () => {
    const store = path.join(dir, 'a');
    const { token, pseudonym } = registerContributor(store, 'worker-1', key);
    const h = signed(token, 'GET', '/api/episodes');
    const first = new Authenticator(store, key);
    expect(first.verify(h, 'GET', '/api/episodes', '').pseudonym).toBe(pseudonym);
    expect(refusal(() => first.verify(h, 'GET', '/api/episodes', ''))).toMatch(/replayed/);
    // "Restart": a new Authenticator on the same store, nothing shared in memory.
    const second = new Authenticator(store, key);
    expect(refusal(() => second.verify(h, 'GET', '/api/episodes', ''))).toMatch(/replayed/);
    expect(second.verify(signed(token, 'GET', '/api/episodes'), 'GET', '/api/episodes', '').pseudonym).toBe(pseudonym);
    // No temporary file of the atomic rewrite is left behind.
    expect(fs.readdirSync(path.join(store, 'contribute')).sort()).toEqual(['contributors.json', 'nonces.json']);
  });

  it('expired nonces are forgotten (the file stays small); their requests are refused by the time window', () => {
    const store = path.join(dir, 'b');
    const { token } = registerContributor(store, 'worker-2', key);
    const auth = new Authenticator(store, key, 60);
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) auth.verify(signed(token, 'GET', '/api/episodes', '', Math.floor(t0 / 1000)), 'GET', '/api/episodes', '', t0);
    const file = path.join(store, 'contribute', 'nonces.json');
    expect(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')).nonces)).toHaveLength(5);
    const later = t0 + 61_000;
    const old = signed(token, 'GET', '/api/episodes', '', Math.floor(t0 / 1000));
    expect(refusal(() => auth.verify(old, 'GET', '/api/episodes', '', later))).toMatch(/outside the accepted window/);
    auth.verify(signed(token, 'GET', '/api/episodes', '', Math.floor(later / 1000)), 'GET', '/api/episodes', '', later);
    expect(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')).nonces)).toHaveLength(1);
  });

  it('a malformed nonce is refused; an unreadable nonce file stops the start and refuses requests (fail closed)', () => {
    const store = path.join(dir, 'c');
    const { token } = registerContributor(store, 'worker-3', key);
    const auth = new Authenticator(store, key);
    expect(refusal(() => auth.verify(signed(token, 'GET', '/x', '', undefined, 'zz'), 'GET', '/x', ''))).toMatch(/malformed nonce/);
    const file = path.join(store, 'contribute', 'nonces.json');
    fs.writeFileSync(file, '{"version":1,"nonces":');
    expect(() => new Authenticator(store, key)).toThrow(UserError);
    expect(() => new Authenticator(store, key)).toThrow(/nonces\.json: unreadable nonce file/);
    let status = 0;
    try {
      auth.verify(signed(token, 'GET', '/x'), 'GET', '/x', '');
    } catch (err) {
      status = (err as AuthError).status;
    }
    expect(status).toBe(503);
  });

  it('through the server: a request replayed after the server restarted is refused with 401', async () => {
    const store = path.join(dir, 'd');
    const { token } = registerContributor(store, 'worker-4', key);
    // GET /api/episodes never retargets: the robot is the project's own and is not read here.
    const opts = { store, robot: path.join(PROJECT_ROOT, 'robots/r2r_humanoid/r2r_humanoid.urdf'), key, bind: '127.0.0.1:0' };
    const h = signed(token, 'GET', '/api/episodes');
    const headers = { 'x-r2r-token': h.token, 'x-r2r-time': h.time, 'x-r2r-nonce': h.nonce, 'x-r2r-signature': h.signature };
    let server = await startContribute(opts);
    let r = await fetch(new URL('api/episodes', server.url), { headers });
    expect(r.status).toBe(200);
    expect((await r.json()).episodes).toEqual([]);
    await server.close();
    server = await startContribute(opts);
    try {
      r = await fetch(new URL('api/episodes', server.url), { headers });
      expect(r.status).toBe(401);
      expect((await r.json()).error).toMatch(/replayed/);
    } finally {
      await server.close();
    }
  }, 120_000);
});
