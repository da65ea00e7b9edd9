/**
 * zeromq.js allows one pending `send` per socket (a second one rejects with EBUSY), so each socket gets one
 * writer: messages are queued and sent in order by a single loop. A queued item may be a function that
 * builds the message when its turn comes (e.g. loads an episode), and may carry a failure callback.
 */
export type Frame = Buffer | Uint8Array | string;
export type Message = Frame[];

interface Item {
  build: Message | (() => Message | null | Promise<Message | null>);
  onError?: (err: unknown) => void;
}

export function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

export class SendQueue {
  private readonly items: Item[] = [];
  private head = 0;
  private running: Promise<void> | null = null;
  private closed = false;
  private active = false;

  constructor(private readonly socket: { send(m: Message): Promise<void> }) {}

  push(build: Item['build'], onError?: (err: unknown) => void): void {
    if (this.closed) return;
    this.items.push({ build, onError });
    if (!this.active) {
      this.active = true;
      this.running = this.run();
    }
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** Resolves when everything queued so far has been handed to the socket. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  close(): void {
    this.closed = true;
    this.items.length = 0;
    this.head = 0;
  }

  private async run(): Promise<void> {
    await null;
    try {
      while (this.head < this.items.length && !this.closed) {
        const it = this.items[this.head];
        this.items[this.head++] = undefined as never;
        if (this.head > 1024 && this.head * 2 > this.items.length) {
          this.items.splice(0, this.head);
          this.head = 0;
        }
        try {
          let msg = typeof it.build === 'function' ? it.build() : it.build;
          if (isPromise(msg)) msg = await msg;
          if (msg) await this.socket.send(msg);
        } catch (err) {
          if (it.onError) it.onError(err);
        }
      }
    } finally {
      this.active = false;
      this.running = null;
    }
  }
}
