/**
 * Atomic file and directory writes: the data goes to a temporary name in the same directory, is flushed,
 * and is renamed into place. A crash leaves either the old state or the new one, never a partial file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

function tmpName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
  const tmp = tmpName(target);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Build a directory atomically: `fill` writes into a fresh temporary directory beside `target`, which is
 * then renamed onto `target`. If `target` exists it is replaced only when `replace` is set; otherwise an
 * error is thrown and nothing changes. If `fill` throws, the temporary directory is removed.
 */
export async function writeDirAtomic(
  target: string,
  fill: (dir: string) => void | Promise<void>,
  opts: { replace?: boolean } = {},
): Promise<void> {
  const abs = path.resolve(target);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  const tmp = tmpName(abs);
  fs.mkdirSync(tmp);
  try {
    await fill(tmp);
    if (fs.existsSync(abs)) {
      if (!opts.replace) throw new Error(`${target} already exists`);
      const old = tmpName(abs) + '.old';
      fs.renameSync(abs, old);
      fs.renameSync(tmp, abs);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(tmp, abs);
    }
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Remove temporary files writeFileAtomic left in `dir` when a process was killed mid-write
 * (`.<name>.tmp-<pid>-<hex>`): those of processes no longer running, and any older than `maxAgeMs` whose pid
 * is ours (a pid reused by this very process). Returns the removed paths. Missing directory: nothing.
 */
export function removeStaleTemps(dir: string, maxAgeMs = 60_000): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    const m = /^\..+\.tmp-(\d+)-[0-9a-f]+$/.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    const f = path.join(dir, n);
    let alive = true;
    if (pid === process.pid) {
      try {
        alive = Date.now() - fs.statSync(f).mtimeMs < maxAgeMs;
      } catch {
        continue;
      }
    } else {
      try {
        process.kill(pid, 0);
      } catch (err) {
        alive = (err as NodeJS.ErrnoException).code === 'EPERM';
      }
    }
    if (alive) continue;
    try {
      const st = fs.lstatSync(f);
      if (!st.isFile()) continue;
      fs.rmSync(f, { force: true });
      out.push(f);
    } catch {
      /* gone already */
    }
  }
  return out;
}
