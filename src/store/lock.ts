/**
 * A lock file for several processes on one machine: created with O_EXCL, holding the owner's pid. A lock
 * whose owner has died (a crash while holding it), that is older than 10 minutes (its pid reused), or that has
 * held no pid for 2 s (its maker died between creating it and writing the pid), is taken over. Waits synchronously (the critical sections it guards are a few milliseconds of appending to a file).
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | null {
  try {
    const n = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/** A lock this old is stale whoever holds it (its pid may have been reused): the sections it guards take ms. */
const STALE_MS = 10 * 60_000;
/** A lock file with no pid in it this long after it was made: its maker died between creating it and writing its
 *  pid (a SIGKILL in that window, more likely on a loaded machine). */
const EMPTY_STALE_MS = 2_000;

function lockAgeMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/** Run `fn` holding the lock file `lockPath`. Throws after `timeoutMs` without the lock. */
export function withLock<T>(lockPath: string, fn: () => T, timeoutMs = 30_000): T {
  const start = Date.now();
  let wait = 1;
  for (;;) {
    let fd: number | null = null;
    try {
      fd = fs.openSync(lockPath, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (fd !== null) {
      try {
        fs.writeSync(fd, String(process.pid));
      } finally {
        fs.closeSync(fd);
      }
      try {
        return fn();
      } finally {
        fs.rmSync(lockPath, { force: true });
      }
    }
    const owner = readPid(lockPath);
    const orphan = owner === null && fs.existsSync(lockPath) && lockAgeMs(lockPath) > EMPTY_STALE_MS;
    if (orphan || (owner !== null && owner !== process.pid && (!pidAlive(owner) || lockAgeMs(lockPath) > STALE_MS))) {
      // Owner died holding it: move it aside (only one taker can), then make sure it was the dead one's.
      const aside = `${lockPath}.stale-${process.pid}-${randomBytes(3).toString('hex')}`;
      try {
        fs.renameSync(lockPath, aside);
        const taken = readPid(aside);
        if (taken !== owner) {
          // Someone else re-took the lock in between: put theirs back.
          try { fs.linkSync(aside, lockPath); } catch { /* they will notice nothing; a new lock exists */ }
        }
        fs.rmSync(aside, { force: true });
      } catch {
        /* another process took it over first */
      }
      continue;
    }
    if (Date.now() - start > timeoutMs) {
      throw new Error(`could not take the lock ${lockPath} within ${timeoutMs} ms (held by pid ${owner})`);
    }
    sleepMs(wait);
    wait = Math.min(wait * 2, 20);
  }
}
