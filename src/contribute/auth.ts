/**
 * Contributors of the contribute server: registered by the operator (`reel2real contribute register <store>
 * <contributor-id>`), each gets a token tied to their pseudonym. The token is `<pseudonym>.<serial>.<secret>`
 * where the secret is HMAC-SHA256(operator key, pseudonym, serial): the server derives it again, so no secret
 * is stored. Re-registering issues a new serial and revokes the old token.
 *
 * Requests are signed, never carry the secret: HMAC-SHA256(secret, method \n path \n time \n nonce \n digest),
 * where digest names the content (an upload's content id and meta hash). A request is refused when the token is
 * unknown, revoked or forged (signature mismatch), when its time is more than `windowS` from the server's, or when
 * its nonce was seen before (a replay). Nonces are remembered for the window (in memory: a restart within the
 * window forgets them, but the content-id check still refuses a second copy of an upload).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { pseudonymize } from '../privacy/pseudonym.ts';

export interface Contributor {
  pseudonym: string;
  serial: number;
  /** The collection platform's id: kept only in the operator's registry, for the consent manifests the server signs. */
  contributor: string;
  registered: string;
  revoked: string | null;
}

interface Registry {
  version: 1;
  contributors: Contributor[];
}

export function contributeDir(store: string): string {
  return path.join(store, 'contribute');
}

function registryFile(store: string): string {
  return path.join(contributeDir(store), 'contributors.json');
}

export function readRegistry(store: string): Registry {
  const file = registryFile(store);
  if (!fs.existsSync(file)) return { version: 1, contributors: [] };
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as Registry;
    if (r.version !== 1 || !Array.isArray(r.contributors)) throw new Error('not a contributor registry');
    return r;
  } catch (err) {
    throw new UserError(`unreadable contributor registry (${(err as Error).message.split('\n')[0]})`, file);
  }
}

function tokenSecret(key: Uint8Array, pseudonym: string, serial: number): string {
  return createHmac('sha256', key).update(`reel2real-contribute-token\n${pseudonym}\n${serial}`).digest('hex');
}

/** Register (or re-register) a contributor; returns the token to hand to them (shown once, not stored). */
export function registerContributor(store: string, rawId: string, key: Uint8Array, now = new Date()): { token: string; pseudonym: string; serial: number } {
  if (!rawId.trim()) throw new UserError('empty contributor id');
  const pseudonym = pseudonymize(rawId.trim(), key);
  const reg = readRegistry(store);
  let serial = 1;
  for (const c of reg.contributors) {
    if (c.pseudonym !== pseudonym) continue;
    serial = Math.max(serial, c.serial + 1);
    c.revoked ??= now.toISOString();
  }
  reg.contributors.push({ pseudonym, serial, contributor: rawId.trim(), registered: now.toISOString(), revoked: null });
  writeFileAtomic(registryFile(store), JSON.stringify(reg, null, 1) + '\n');
  fs.chmodSync(registryFile(store), 0o600);
  return { token: `${pseudonym}.${serial}.${tokenSecret(key, pseudonym, serial)}`, pseudonym, serial };
}

export class AuthError extends Error {
  constructor(message: string, readonly status = 401) {
    super(message);
  }
}

export interface SignedHeaders {
  token?: string;
  time?: string;
  nonce?: string;
  signature?: string;
}

export class Authenticator {
  private seen = new Map<string, number>();

  constructor(private store: string, private key: Uint8Array, private windowS = 300) {}

  /** The contributor a signed request comes from, or an AuthError saying why it is refused. */
  verify(h: SignedHeaders, method: string, pathname: string, digest: string, now = Date.now()): Contributor {
    if (!h.token || !h.time || !h.nonce || !h.signature) throw new AuthError('not signed: open the link your operator gave you (it holds your token)');
    const m = /^(p-[0-9a-f]{64})\.([0-9]+)$/.exec(h.token);
    if (!m) throw new AuthError('malformed token id');
    const c = readRegistry(this.store).contributors.find((x) => x.pseudonym === m[1] && x.serial === Number(m[2]));
    if (!c) throw new AuthError('unknown token');
    if (c.revoked) throw new AuthError('token revoked: ask your operator for a new link');
    const expected = createHmac('sha256', tokenSecret(this.key, c.pseudonym, c.serial)).update([method, pathname, h.time, h.nonce, digest].join('\n')).digest();
    const given = Buffer.from(/^[0-9a-f]{64}$/.test(h.signature) ? h.signature : '', 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new AuthError('bad signature (forged or wrong token)');
    const t = Number(h.time) * 1000;
    if (!Number.isFinite(t) || Math.abs(t - now) > this.windowS * 1000) throw new AuthError('request time is outside the accepted window (replayed, or the device clock is wrong)');
    for (const [n, exp] of this.seen) if (exp < now) this.seen.delete(n);
    const nk = `${h.token}:${h.nonce}`;
    if (this.seen.has(nk)) throw new AuthError('replayed request (nonce already used)');
    this.seen.set(nk, t + this.windowS * 1000);
    return c;
  }
}
