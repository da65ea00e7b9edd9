/**
 * Contributors of the contribute server: registered by the operator (`reel2real contribute register <store>
 * <contributor-id>`), each gets a token tied to their pseudonym. The token is `<pseudonym>.<serial>.<secret>`
 * where the secret is HMAC-SHA256(operator key, pseudonym, serial): the server derives it again, so no secret
 * is stored. Re-registering issues a new serial and revokes the old token.
 *
 * Requests are signed, never carry the secret: HMAC-SHA256(secret, method \n path \n time \n nonce \n digest),
 * where digest names the content (an upload's content id and meta hash). A request is refused when the token is
 * unknown, revoked or forged (signature mismatch), when its time is more than `windowS` from the server's, or when
 * its nonce was seen before (a replay). Used nonces are kept for the window in `<store>/contribute/nonces.json`,
 * rewritten atomically (src/io/atomic.ts) before a request is accepted, so a restarted server still refuses a
 * request it accepted before the restart. The file is read again on every request (two servers on one store see
 * each other's nonces, up to a race between two requests in the same millisecond). An unreadable nonce file
 * refuses every signed request (fail closed) until the operator removes it.
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

function nonceFile(store: string): string {
  return path.join(contributeDir(store), 'nonces.json');
}

/** Used nonces (`<token id>:<nonce>` → when they may be forgotten, ms since the epoch), from the nonce file. */
function readNonces(file: string): Record<string, number> {
  if (!fs.existsSync(file)) return {};
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: unknown; nonces?: unknown };
    if (r.version !== 1 || typeof r.nonces !== 'object' || r.nonces === null || Array.isArray(r.nonces)) throw new Error('not a nonce file');
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(r.nonces)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`bad entry ${JSON.stringify(k).slice(0, 40)}`);
      out[k] = v;
    }
    return out;
  } catch (err) {
    throw new UserError(`unreadable nonce file (${(err as Error).message.split('\n')[0]}); signed requests are refused until it is removed`, file);
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
  private nonces: string;

  constructor(private store: string, private key: Uint8Array, private windowS = 300) {
    this.nonces = nonceFile(store);
    readNonces(this.nonces); // an unreadable nonce file stops the server at start, with the file named
  }

  /** Whether a token id (`<pseudonym>.<serial>`) names a registered, unrevoked contributor (no signature checked). */
  registered(tokenId: string | undefined): boolean {
    const m = /^(p-[0-9a-f]{64})\.([0-9]+)$/.exec(tokenId ?? '');
    return Boolean(m && readRegistry(this.store).contributors.some((x) => x.pseudonym === m[1] && x.serial === Number(m[2]) && !x.revoked));
  }

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
    if (!/^[0-9a-f]{16,64}$/.test(h.nonce)) throw new AuthError('malformed nonce (16-64 hex digits)');
    let seen: Record<string, number>;
    try {
      seen = readNonces(this.nonces);
    } catch {
      throw new AuthError('the server cannot check request nonces (its nonce file is unreadable): ask the operator', 503);
    }
    for (const [n, exp] of Object.entries(seen)) if (exp < now) delete seen[n];
    const nk = `${h.token}:${h.nonce}`;
    if (nk in seen) throw new AuthError('replayed request (nonce already used)');
    // Kept until the request's time leaves the window: after that the time check refuses it anyway.
    seen[nk] = t + this.windowS * 1000;
    writeFileAtomic(this.nonces, JSON.stringify({ version: 1, nonces: seen }) + '\n');
    return c;
  }
}
