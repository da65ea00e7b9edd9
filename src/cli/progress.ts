/**
 * Progress display for long commands: a live one-line bar on a terminal (stderr), plain log lines
 * otherwise (at most one per `every` seconds per task, so CI logs stay readable).
 */
export interface ProgressOptions {
  /** Write here (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** Force plain lines (default: plain unless the stream is a TTY). */
  plain?: boolean;
  /** Minimum seconds between plain lines for one task. */
  every?: number;
}

export class Progress {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly every: number;
  private lastLine = new Map<string, number>();
  private live = false;

  constructor(opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = !opts.plain && !!this.stream.isTTY;
    this.every = opts.every ?? 5;
  }

  /** Update task `label` at `done` of `total` (total 0 = unknown), with a short status text. */
  update(label: string, done: number, total: number, status = ''): void {
    if (this.tty) {
      const width = Math.max(10, Math.min(30, (this.stream.columns ?? 80) - label.length - status.length - 20));
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      const bar = total > 0 ? '█'.repeat(Math.round(frac * width)).padEnd(width, '░') : '';
      const count = total > 0 ? `${done}/${total}` : `${done}`;
      this.stream.write(`\r\x1b[2K${label} ${bar} ${count} ${status}`.slice(0, (this.stream.columns ?? 120) - 1));
      this.live = true;
      return;
    }
    const now = Date.now() / 1000;
    const last = this.lastLine.get(label) ?? -Infinity;
    if (now - last < this.every && done < total) return;
    this.lastLine.set(label, now);
    const count = total > 0 ? `${done}/${total}` : done > 0 ? String(done) : '';
    this.stream.write(`${label}:${count ? ` ${count}` : ''}${status ? ` ${status}` : ''}\n`);
  }

  /** A finished line (always printed). */
  log(line: string): void {
    if (this.live) {
      this.stream.write('\r\x1b[2K');
      this.live = false;
    }
    this.stream.write(line + '\n');
  }

  done(): void {
    if (this.live) this.stream.write('\r\x1b[2K');
    this.live = false;
  }
}
