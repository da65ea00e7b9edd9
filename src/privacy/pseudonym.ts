/**
 * Pseudonymous contributor ids: HMAC-SHA256 of the raw id under a key only the operator holds. The same
 * person gets the same pseudonym across recordings (so per-contributor splits and withdrawals work), and
 * nobody without the key can recover or even test a guessed id. Raw ids are never stored.
 *
 * The key comes from `--key-file <file>` or the environment variable REEL2REAL_PSEUDONYM_KEY (hex, base64 or
 * text; at least 16 bytes). It is the operator key: the same secret also signs consent manifests and keys
 * the audit log's hash chain, each through its own subkey (operatorSubkey), so a value made for one purpose
 * is never valid for another. Pseudonyms use the key itself (as they always have), so they stay stable.
 */
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import { UserError } from '../errors.ts';

export const PSEUDONYM_ENV = 'REEL2REAL_PSEUDONYM_KEY';

function decodeKey(text: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]+$/.test(t) && t.length % 2 === 0 && t.length >= 32) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(t) && t.length >= 24 && t.length % 4 === 0) return Buffer.from(t, 'base64');
  return Buffer.from(t, 'utf8');
}

/** The operator's pseudonym key from a key file, else the environment; UserError when neither gives one. */
export function loadPseudonymKey(opts: { keyFile?: string; env?: NodeJS.ProcessEnv } = {}): Buffer {
  let key: Buffer;
  let where: string | undefined;
  if (opts.keyFile) {
    where = opts.keyFile;
    let text: string;
    try {
      text = fs.readFileSync(opts.keyFile, 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new UserError(e.code === 'ENOENT' ? 'no such key file' : (e.message || String(e)).split('\n')[0], opts.keyFile);
    }
    key = decodeKey(text);
  } else {
    const v = (opts.env ?? process.env)[PSEUDONYM_ENV];
    if (!v) throw new UserError(`no pseudonym key: set ${PSEUDONYM_ENV} or pass --key-file <file> (the operator's secret; contributor ids are HMAC-SHA256 under it)`);
    key = decodeKey(v);
  }
  if (key.length < 16) throw new UserError('pseudonym key is shorter than 16 bytes', where);
  return key;
}

/** Same as loadPseudonymKey: the operator key, which pseudonymises, signs manifests and keys the audit log. */
export const loadOperatorKey = loadPseudonymKey;

/** The operator key from the environment only, or null (for library calls that were given none). */
export function operatorKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer | null {
  return env[PSEUDONYM_ENV] ? loadPseudonymKey({ env }) : null;
}

/** HMAC-SHA256(key, "reel2real/<purpose>/v1"): the key for one purpose only. */
export function operatorSubkey(key: Buffer | Uint8Array, purpose: 'manifest' | 'audit'): Buffer {
  return createHmac('sha256', key).update(`reel2real/${purpose}/v1`, 'utf8').digest();
}

/** `p-` + hex HMAC-SHA256(key, "contributor:" + id), 64 hex digits. */
export function pseudonymize(rawId: string, key: Buffer | Uint8Array): string {
  if (!rawId) throw new UserError('empty contributor id');
  return 'p-' + createHmac('sha256', key).update('contributor:').update(rawId, 'utf8').digest('hex');
}
