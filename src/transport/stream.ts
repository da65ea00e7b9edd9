/**
 * The stream's order, kept by the server in `<state>/stream.jsonl`: one episode id per line, in the order
 * the server first saw them in the store's index. A sequence number is a line number of this file, so it
 * stays the same across server restarts and when episodes are removed from the store (a removed id keeps
 * its number and is skipped). Appended with fsync; a torn last line (crash while appending) is dropped.
 *
 * One server per state directory: `<state>/server.lock` holds the owner's pid; a dead owner's lock is taken.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.ts';
import { pidAlive } from '../store/lock.ts';

export class StreamLog {
  readonly file: string;
  readonly lockFile: string;
  private locked = false;

  constructor(readonly stateDir: string) {
    this.file = path.join(stateDir, 'stream.jsonl');
    this.lockFile = path.join(stateDir, 'server.lock');
  }

  lock(): void {
    fs.mkdirSync(this.stateDir, { recursive: true });
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = fs.openSync(this.lockFile, 'wx');
        fs.writeSync(fd, String(process.pid));
        fs.closeSync(fd);
        this.locked = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = Number.parseInt(fs.readFileSync(this.lockFile, 'utf8'), 10);
      if (Number.isFinite(owner) && pidAlive(owner)) {
        throw new UserError(`another server (pid ${owner}) is using this state directory`, this.stateDir);
      }
      fs.rmSync(this.lockFile, { force: true });
    }
    throw new UserError('cannot take the server lock', this.lockFile);
  }

  unlock(): void {
    if (!this.locked) return;
    this.locked = false;
    try {
      if (Number.parseInt(fs.readFileSync(this.lockFile, 'utf8'), 10) === process.pid) fs.rmSync(this.lockFile, { force: true });
    } catch {
      /* already gone */
    }
  }

  /** The ids in stream order. */
  load(): string[] {
    if (!fs.existsSync(this.file)) return [];
    const text = fs.readFileSync(this.file, 'utf8');
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) fs.truncateSync(this.file, Buffer.byteLength(text.slice(0, end)));
    const ids = text.slice(0, end).split('\n').filter(Boolean);
    if (new Set(ids).size !== ids.length) throw new UserError('lists an episode twice (edited by hand?)', this.file);
    return ids;
  }

  append(ids: string[]): void {
    if (!ids.length) return;
    const fd = fs.openSync(this.file, 'a');
    try {
      fs.writeSync(fd, ids.join('\n') + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}
