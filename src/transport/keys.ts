/**
 * CURVE keys: Z85 text (40 characters for a 32-byte key, as libzmq/pyzmq print them), key-pair files and
 * allow-lists of trainer public keys.
 *
 * Key-pair file: JSON `{"kind": "reel2real-curve-keypair", "public": "<z85>", "secret": "<z85>"}`, mode 0600.
 * Allow-list file: one Z85 public key per line, optionally followed by a label; lines starting with `#` (and
 * not with a key: Z85 has `#` in its alphabet) are comments. A
 * key-pair JSON file is accepted too (its public key is allowed).
 */
import * as fs from 'node:fs';
import { curveKeyPair } from 'zeromq';
import { UserError, wrapFileError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

export function z85Encode(b: Uint8Array): string {
  if (b.length % 4) throw new Error('z85: length must be a multiple of 4');
  let s = '';
  for (let i = 0; i < b.length; i += 4) {
    let v = ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
    let chunk = '';
    for (let k = 0; k < 5; k++) {
      chunk = ALPHABET[v % 85] + chunk;
      v = Math.floor(v / 85);
    }
    s += chunk;
  }
  return s;
}

export function z85Decode(s: string): Uint8Array | null {
  if (s.length % 5) return null;
  const out = new Uint8Array((s.length / 5) * 4);
  for (let i = 0, o = 0; i < s.length; i += 5, o += 4) {
    let v = 0;
    for (let k = 0; k < 5; k++) {
      const c = s.charCodeAt(i + k);
      const d = c < 128 ? DECODE[c] : -1;
      if (d < 0) return null;
      v = v * 85 + d;
    }
    if (v > 0xffffffff) return null;
    out[o] = (v >>> 24) & 0xff;
    out[o + 1] = (v >>> 16) & 0xff;
    out[o + 2] = (v >>> 8) & 0xff;
    out[o + 3] = v & 0xff;
  }
  return out;
}

export function isCurveKey(s: string): boolean {
  const b = s.length === 40 ? z85Decode(s) : null;
  return b !== null && b.length === 32;
}

export interface KeyPair {
  publicKey: string;
  secretKey: string;
}

export function generateKeyPair(): KeyPair {
  const k = curveKeyPair();
  return { publicKey: k.publicKey, secretKey: k.secretKey };
}

/** Write a new key pair as JSON with mode 0600 (atomically); refuses to overwrite unless `force`. */
export function writeKeyPair(file: string, kp: KeyPair, opts: { force?: boolean } = {}): void {
  if (fs.existsSync(file) && !opts.force) throw new UserError('already exists (pass --force to replace it)', file);
  const text = JSON.stringify({ kind: 'reel2real-curve-keypair', public: kp.publicKey, secret: kp.secretKey }, null, 2) + '\n';
  const old = process.umask(0o077);
  try {
    writeFileAtomic(file, text);
  } finally {
    process.umask(old);
  }
  fs.chmodSync(file, 0o600);
}

export function readKeyPair(file: string): KeyPair {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    wrapFileError(err, file);
  }
  let v: { kind?: unknown; public?: unknown; secret?: unknown };
  try {
    v = JSON.parse(text);
  } catch {
    throw new UserError('not a key-pair file (expected JSON from `reel2real keys gen`)', file);
  }
  if (typeof v.public !== 'string' || !isCurveKey(v.public)) throw new UserError('"public" is not a 40-character Z85 CURVE key', file);
  if (typeof v.secret !== 'string' || !isCurveKey(v.secret)) throw new UserError('"secret" is missing or not a 40-character Z85 CURVE key', file);
  return { publicKey: v.public, secretKey: v.secret };
}

/** A public key given inline (40 Z85 characters) or as a file (key-pair JSON or a text file holding the key). */
export function readPublicKey(arg: string, what = 'key'): string {
  if (isCurveKey(arg)) return arg;
  if (!fs.existsSync(arg)) throw new UserError(`is neither a 40-character Z85 ${what} nor a file`, arg);
  const text = fs.readFileSync(arg, 'utf8').trim();
  if (isCurveKey(text)) return text;
  try {
    const v = JSON.parse(text);
    if (typeof v.public === 'string' && isCurveKey(v.public)) return v.public;
  } catch {
    /* fall through */
  }
  throw new UserError(`holds no Z85 CURVE ${what}`, arg);
}

/** Read an allow-list of trainer public keys. */
function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export function readAllowList(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    wrapFileError(err, file);
  }
  const trimmed = text.trim();
  // A key file (JSON) given as the allow-list. Z85 keys may themselves start with '{', so only a file that
  // parses as JSON is one.
  if (trimmed.startsWith('{') && parsesAsJson(trimmed)) return [readPublicKey(file, 'public key')];
  const keys: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    // Z85 keys may contain '#': a line is a comment only when it does not start with a key.
    const key = line.split(/\s+/)[0];
    if (!isCurveKey(key) && line.startsWith('#')) return;
    if (!isCurveKey(key)) throw new UserError(`line ${i + 1}: ${JSON.stringify(key)} is not a 40-character Z85 public key`, file);
    keys.push(key);
  });
  if (!keys.length) throw new UserError('allow-list has no keys: nobody could connect', file);
  return keys;
}
