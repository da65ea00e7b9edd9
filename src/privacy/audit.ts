/**
 * Append-only, hash-chained audit log of who ran what on which recording: `<store>/audit.jsonl`, one JSON
 * object per line
 *
 *     {"seq", "time", "actor", "action", "recording", "episode", "details", "prev_hash", "hash"}
 *
 * where `hash` = HMAC-SHA256 under the operator key's audit subkey (operatorSubkey(key, 'audit')) of the
 * canonical JSON of every other field (keys in that order, `details` with sorted keys) and `prev_hash` is the
 * previous line's hash (64 zeros for the first). Without the key nobody can write a line that verifies, so an
 * edited, rewritten or forged entry is detected; deleting, reordering or inserting lines breaks the chain (seq
 * and prev_hash). `audit.head.json` beside the log holds the last seq and hash, keyed too, so cutting lines off
 * the end is detected; a missing head is a failure unless the log is empty. Several processes may append at
 * once: appends take a lock file.
 *
 * Appending and verifying need the operator key: pass it, or it is read from REEL2REAL_PSEUDONYM_KEY.
 * Recording references should be content hashes or base names, never paths (paths can carry names).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { operatorKeyFromEnv, operatorSubkey } from './pseudonym.ts';

export const GENESIS = '0'.repeat(64);

export interface AuditEntry {
  seq: number;
  time: string;
  actor: string;
  action: string;
  recording: string | null;
  episode: string | null;
  details: Record<string, unknown> | null;
  prev_hash: string;
  hash: string;
}

export interface AuditEvent {
  action: string;
  actor?: string;
  recording?: string | null;
  episode?: string | null;
  details?: Record<string, unknown> | null;
  time?: Date;
}

/** Log file for a store directory or a log path. */
export function auditLogPath(target: string): string {
  if (target.endsWith('.jsonl')) return target;
  if (fs.existsSync(target) && fs.statSync(target).isFile()) return target;
  return path.join(target, 'audit.jsonl');
}

function headPath(log: string): string {
  return log.replace(/\.jsonl$/, '') + '.head.json';
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) out[k] = canonical((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** The operator key given, else the environment's; a UserError saying how to give one. */
export function auditKey(key?: Buffer | Uint8Array | null): Buffer | Uint8Array {
  const k = key ?? operatorKeyFromEnv();
  if (!k) throw new UserError('the audit log is keyed with the operator key: set REEL2REAL_PSEUDONYM_KEY or pass --key-file <file>');
  return k;
}

/** The hash a line must carry: HMAC-SHA256 under the audit subkey of the operator key. */
export function entryHash(e: Omit<AuditEntry, 'hash'>, key: Buffer | Uint8Array): string {
  const body = JSON.stringify([e.seq, e.time, e.actor, e.action, e.recording, e.episode, canonical(e.details), e.prev_hash]);
  return createHmac('sha256', operatorSubkey(key, 'audit')).update(body, 'utf8').digest('hex');
}

/** The head file's MAC over the last seq and hash. */
function headMac(seq: number, hash: string, key: Buffer | Uint8Array): string {
  return createHmac('sha256', operatorSubkey(key, 'audit')).update(`head:${seq}:${hash}`, 'utf8').digest('hex');
}

function sameHex(a: unknown, b: string): boolean {
  if (typeof a !== 'string' || a.length !== b.length || !/^[0-9a-f]*$/.test(a)) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

function defaultActor(): string {
  if (process.env.REEL2REAL_ACTOR) return process.env.REEL2REAL_ACTOR;
  try {
    return `${os.userInfo().username}@${os.hostname()}`;
  } catch {
    return 'unknown';
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function withLock<T>(log: string, fn: () => T): T {
  const lock = log + '.lock';
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        // A lock older than 60 s belongs to a dead writer.
        if (Date.now() - fs.statSync(lock).mtimeMs > 60_000) fs.rmSync(lock, { force: true });
      } catch { /* gone already */ }
      if (Date.now() > deadline) throw new UserError('audit log is locked by another process (remove the .lock file if no writer is running)', lock);
      sleep(10 + Math.random() * 20);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/** The last complete line of a file (reads only its tail). */
function lastLine(file: string): string | null {
  if (!fs.existsSync(file)) return null;
  const size = fs.statSync(file).size;
  if (size === 0) return null;
  const fd = fs.openSync(file, 'r');
  try {
    let chunk = 4096;
    for (;;) {
      const n = Math.min(size, chunk);
      const buf = Buffer.alloc(n);
      fs.readSync(fd, buf, 0, n, size - n);
      const text = buf.toString('utf8').replace(/\n+$/, '');
      const i = text.lastIndexOf('\n');
      if (i >= 0 || n === size) return text.slice(i + 1);
      chunk *= 4;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Append one event; returns the entry written. `target` is a store directory or a `.jsonl` log path. */
export function appendAudit(target: string, ev: AuditEvent, key?: Buffer | Uint8Array | null): AuditEntry {
  if (!ev.action) throw new UserError('audit event needs an action');
  const k = auditKey(key);
  const log = auditLogPath(target);
  fs.mkdirSync(path.dirname(path.resolve(log)), { recursive: true });
  return withLock(log, () => {
    const last = lastLine(log);
    let seq = 0;
    let prev = GENESIS;
    if (last) {
      let e: AuditEntry;
      try {
        e = JSON.parse(last);
      } catch {
        throw new UserError('last line of the audit log is not JSON; run `reel2real audit verify`', log);
      }
      seq = e.seq + 1;
      prev = e.hash;
    }
    const body: Omit<AuditEntry, 'hash'> = {
      seq,
      time: (ev.time ?? new Date()).toISOString(),
      actor: ev.actor ?? defaultActor(),
      action: ev.action,
      recording: ev.recording ?? null,
      episode: ev.episode ?? null,
      details: ev.details ?? null,
      prev_hash: prev,
    };
    const entry: AuditEntry = { ...body, hash: entryHash(body, k) };
    const fd = fs.openSync(log, 'a');
    try {
      fs.writeSync(fd, JSON.stringify(entry) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    writeFileAtomic(headPath(log), JSON.stringify({ seq: entry.seq, hash: entry.hash, mac: headMac(entry.seq, entry.hash, k) }) + '\n');
    return entry;
  });
}

export interface AuditProblem { line: number; seq?: number; problem: string }

export interface AuditVerification {
  ok: boolean;
  log: string;
  entries: number;
  last: { seq: number; hash: string } | null;
  head: 'matches' | 'missing' | 'mismatch';
  problems: AuditProblem[];
}

/** Check every line's hash and the chain; compare the end with the head file. */
export function verifyAudit(target: string, key?: Buffer | Uint8Array | null): AuditVerification {
  const k = auditKey(key);
  const log = auditLogPath(target);
  if (!fs.existsSync(log)) throw new UserError('no audit log here', log);
  const lines = fs.readFileSync(log, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const problems: AuditProblem[] = [];
  let prevHash = GENESIS;
  let expectSeq = 0;
  let last: { seq: number; hash: string } | null = null;
  lines.forEach((text, i) => {
    const line = i + 1;
    let e: AuditEntry;
    try {
      e = JSON.parse(text);
    } catch {
      problems.push({ line, problem: 'not valid JSON' });
      return;
    }
    const { hash, ...body } = e;
    if (typeof e.seq !== 'number' || typeof hash !== 'string') {
      problems.push({ line, problem: 'missing seq or hash' });
      return;
    }
    if (!sameHex(hash, entryHash(body as Omit<AuditEntry, 'hash'>, k))) problems.push({ line, seq: e.seq, problem: 'content does not match its keyed hash (edited, forged, or written without the operator key)' });
    if (e.seq !== expectSeq) {
      problems.push({ line, seq: e.seq, problem: e.seq > expectSeq ? `seq ${e.seq} follows ${expectSeq - 1}: ${e.seq - expectSeq} entr${e.seq - expectSeq === 1 ? 'y' : 'ies'} missing (deleted)` : `seq ${e.seq} after ${expectSeq - 1} (reordered or duplicated)` });
    }
    if (e.prev_hash !== prevHash) problems.push({ line, seq: e.seq, problem: 'prev_hash does not match the previous entry (chain broken: deletion, insertion or reorder)' });
    prevHash = hash;
    expectSeq = e.seq + 1;
    last = { seq: e.seq, hash };
  });
  let head: AuditVerification['head'] = 'missing';
  const hp = headPath(log);
  const l = last as { seq: number; hash: string } | null;
  if (fs.existsSync(hp)) {
    let h: { seq?: number; hash?: string; mac?: string } = {};
    try {
      h = JSON.parse(fs.readFileSync(hp, 'utf8'));
    } catch {
      /* treated as mismatch */
    }
    const sealed = typeof h.seq === 'number' && typeof h.hash === 'string' && sameHex(h.mac, headMac(h.seq, h.hash, k));
    head = sealed && l && h.seq === l.seq && h.hash === l.hash ? 'matches' : 'mismatch';
    if (head === 'mismatch') {
      problems.push({ line: lines.length, problem: sealed
        ? `log ends at seq ${l ? l.seq : 'none'} but the head records seq ${h.seq} (entries cut off the end)`
        : 'the head file is not sealed by the operator key (altered or forged)' });
    }
  } else if (lines.length) {
    problems.push({ line: lines.length, problem: `${path.basename(hp)} is missing (deleted: entries may have been cut off the end)` });
  }
  return { ok: problems.length === 0, log, entries: lines.length, last, head, problems };
}
