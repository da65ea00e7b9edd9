/**
 * Append-only, hash-chained audit log of who ran what on which recording: `<store>/audit.jsonl`, one JSON
 * object per line
 *
 *     {"seq", "time", "actor", "action", "recording", "episode", "details", "prev_hash", "hash"}
 *
 * where `hash` = sha256 of the canonical JSON of every other field (keys in that order, `details` with sorted
 * keys) and `prev_hash` is the previous line's hash (64 zeros for the first). Editing a line breaks its hash;
 * deleting, reordering or inserting lines breaks the chain (prev_hash and seq). `audit.head.json` beside the
 * log holds the last seq and hash, so cutting lines off the end is detected too. Several processes may append
 * at once: appends take a lock file.
 *
 * Recording references should be content hashes or base names, never paths (paths can carry names).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';

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

/** The hash a line must carry. */
export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const body = JSON.stringify([e.seq, e.time, e.actor, e.action, e.recording, e.episode, canonical(e.details), e.prev_hash]);
  return createHash('sha256').update(body, 'utf8').digest('hex');
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
export function appendAudit(target: string, ev: AuditEvent): AuditEntry {
  if (!ev.action) throw new UserError('audit event needs an action');
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
    const entry: AuditEntry = { ...body, hash: entryHash(body) };
    const fd = fs.openSync(log, 'a');
    try {
      fs.writeSync(fd, JSON.stringify(entry) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    writeFileAtomic(headPath(log), JSON.stringify({ seq: entry.seq, hash: entry.hash }) + '\n');
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
export function verifyAudit(target: string): AuditVerification {
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
    if (entryHash(body as Omit<AuditEntry, 'hash'>) !== hash) problems.push({ line, seq: e.seq, problem: 'content does not match its hash (edited)' });
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
  if (fs.existsSync(hp)) {
    let h: { seq?: number; hash?: string } = {};
    try {
      h = JSON.parse(fs.readFileSync(hp, 'utf8'));
    } catch {
      /* treated as mismatch */
    }
    const l = last as { seq: number; hash: string } | null;
    head = l && h.seq === l.seq && h.hash === l.hash ? 'matches' : 'mismatch';
    if (head === 'mismatch') {
      problems.push({ line: lines.length, problem: `log ends at seq ${l ? l.seq : 'none'} but the head records seq ${h.seq} (entries cut off the end, or the head file altered)` });
    }
  }
  return { ok: problems.length === 0, log, entries: lines.length, last, head, problems };
}
