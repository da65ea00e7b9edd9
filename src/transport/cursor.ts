/**
 * A durable delivery cursor: which positions of the stream (the store's index order) one trainer name
 * (broadcast) or one group (shared) has acknowledged. Persisted atomically as
 * `<state>/cursors/<kind>-<name>.json`:
 *
 *   {"version": 1, "key": "trainer:alice", "low": 120, "low_id": "<id at 119>", "acked": {"125": "<id>"}}
 *
 * `low` is the watermark: every position below it is acked; `acked` holds the acked positions above it.
 * The ids let a restarted server check the cursor still matches the store's index.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { UserError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';

export interface CursorFile {
  version: 1;
  key: string;
  low: number;
  low_id: string | null;
  acked: Record<string, string>;
  updated: string;
}

export function cursorFileName(stateDir: string, key: string): string {
  const safe = key.replace(/[^A-Za-z0-9._-]/g, '_');
  // Different keys may map to the same safe name; a short hash of the key keeps them apart.
  const h = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return path.join(stateDir, 'cursors', `${safe}.${h}.json`);
}

export class Cursor {
  readonly key: string;
  readonly file: string;
  /** All positions < low are acked. */
  low = 0;
  /** Acked positions ≥ low. */
  readonly acked = new Set<number>();
  /** Position → session key it is in flight to. */
  readonly inflight = new Map<number, string>();
  /** Positions to send again (sorted ascending), before new ones. */
  redeliver: number[] = [];
  /** Next never-sent position. */
  next = 0;
  /** Deliveries per position (for the header's `delivery`). */
  readonly deliveries = new Map<number, number>();
  dirty = false;

  constructor(key: string, stateDir: string) {
    this.key = key;
    this.file = cursorFileName(stateDir, key);
    this.tmpBase = `${path.join(path.dirname(this.file), '.' + path.basename(this.file))}.tmp-${process.pid}-${randomBytes(4).toString('hex')}-`;
  }

  /** Load from disk (if present) and check it against the stream's ids. */
  load(ids: string[]): void {
    if (!fs.existsSync(this.file)) return;
    let v: CursorFile;
    try {
      v = JSON.parse(fs.readFileSync(this.file, 'utf8'));
    } catch {
      throw new UserError('cursor file is not JSON', this.file);
    }
    if (v.version !== 1 || v.key !== this.key || !Number.isInteger(v.low) || v.low < 0) {
      throw new UserError(`not a cursor for ${this.key}`, this.file);
    }
    if (v.low > ids.length) throw new UserError(`cursor is at ${v.low} but the store lists only ${ids.length} episodes (was the store replaced?)`, this.file);
    if (v.low > 0 && ids[v.low - 1] !== v.low_id) {
      throw new UserError(`cursor does not match the store's index at position ${v.low - 1} (was the store replaced?)`, this.file);
    }
    this.low = v.low;
    for (const [k, id] of Object.entries(v.acked ?? {})) {
      const p = Number(k);
      if (p < ids.length && ids[p] !== id) throw new UserError(`cursor does not match the store's index at position ${p}`, this.file);
      // Acks for positions the (follow-mode) index does not list yet are kept and checked when they appear.
      this.acked.add(p);
      this.pendingIds.set(p, id);
    }
    this.next = this.low;
    this.advance();
  }

  /** Ids of acked positions beyond the current stream (kept so they are persisted again). */
  private readonly pendingIds = new Map<number, string>();

  isAcked(p: number): boolean {
    return p < this.low || this.acked.has(p);
  }

  /** Mark acked; returns false when it already was. */
  ack(p: number): boolean {
    if (this.isAcked(p)) return false;
    this.acked.add(p);
    this.inflight.delete(p);
    const i = this.redeliver.indexOf(p);
    if (i >= 0) this.redeliver.splice(i, 1);
    this.advance();
    this.dirty = true;
    return true;
  }

  private advance(): void {
    while (this.acked.has(this.low)) {
      this.acked.delete(this.low);
      this.pendingIds.delete(this.low);
      this.low++;
    }
  }

  /** Put a position back to be sent again (session died, NACK, reset). */
  release(p: number): void {
    this.inflight.delete(p);
    if (this.isAcked(p) || p >= this.next || this.redeliver.includes(p)) return;
    let i = this.redeliver.length;
    while (i > 0 && this.redeliver[i - 1] > p) i--;
    this.redeliver.splice(i, 0, p);
  }

  /** Next position to send, or -1 when nothing is available below `total`. */
  take(total: number, session: string): number {
    let p = -1;
    if (this.redeliver.length) p = this.redeliver.shift()!;
    else {
      while (this.next < total && this.isAcked(this.next)) this.next++;
      if (this.next < total) p = this.next++;
    }
    if (p >= 0) {
      this.inflight.set(p, session);
      this.deliveries.set(p, (this.deliveries.get(p) ?? 0) + 1);
    }
    return p;
  }

  /** Claim a position a reconnecting trainer says it holds (so it is not sent twice). */
  claim(p: number, total: number, session: string): boolean {
    if (p >= total || this.isAcked(p) || this.inflight.has(p)) return false;
    const i = this.redeliver.indexOf(p);
    if (i >= 0) this.redeliver.splice(i, 1);
    else if (p >= this.next) {
      // Positions between next and p stay deliverable: queue them for (re)delivery.
      for (let k = this.next; k < p; k++) if (!this.isAcked(k) && !this.inflight.has(k)) this.release2(k);
      this.next = p + 1;
    }
    this.inflight.set(p, session);
    return true;
  }

  private release2(p: number): void {
    let i = this.redeliver.length;
    while (i > 0 && this.redeliver[i - 1] > p) i--;
    this.redeliver.splice(i, 0, p);
  }

  ackedCount(total: number): number {
    let n = Math.min(this.low, total);
    for (const p of this.acked) if (p < total) n++;
    return n;
  }

  complete(total: number): boolean {
    return this.low >= total;
  }

  save(ids: string[]): void {
    writeFileAtomic(this.file, this.serialize(ids));
    this.dirty = false;
  }

  /**
   * Write the cursor atomically without blocking the event loop (temporary file, fsync, rename). Marks the
   * cursor clean before writing: acks that arrive meanwhile make it dirty again for the next save.
   */
  async saveAsync(ids: string[]): Promise<void> {
    const text = this.serialize(ids);
    this.dirty = false;
    if (!this.dirReady) {
      await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
      this.dirReady = true;
    }
    // One save at a time per cursor (the server serialises its flushes): pid + counter names the temporary.
    const tmp = `${this.tmpBase}${++this.saves}`;
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(tmp, 'w');
    } catch (err) {
      this.dirReady = false; // the state directory may have been removed: make it again next time
      throw err;
    }
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, this.file);
  }

  private dirReady = false;
  private saves = 0;
  private readonly tmpBase: string;

  private serialize(ids: string[]): string {
    const acked: Record<string, string> = {};
    for (const p of [...this.acked].sort((a, b) => a - b)) acked[String(p)] = ids[p] ?? this.pendingIds.get(p) ?? '';
    const v: CursorFile = {
      version: 1,
      key: this.key,
      low: this.low,
      low_id: this.low > 0 ? ids[this.low - 1] : null,
      acked,
      updated: new Date().toISOString(),
    };
    return JSON.stringify(v) + '\n';
  }
}
