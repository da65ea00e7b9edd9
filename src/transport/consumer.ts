/**
 * EpisodeConsumer: the trainer side. Connects a DEALER, says HELLO, grants credit, verifies each episode's
 * checksums (NACK on mismatch, so it is sent again), acks by sequence number (explicitly or when the next
 * episode is asked for), re-sends unconfirmed acks after a server restart, and ends at the server's END.
 *
 * It reads the socket when the app waits on it (`next()`, `start()`, `close()`), one message at a time:
 * what the server sends while the app trains waits in libzmq's queue (the window bounds it), and an episode
 * goes from the socket to the app without a hand-over between two loops. Pings go out on a timer either way.
 *
 *   const c = new EpisodeConsumer({ connect: 'tcp://127.0.0.1:5555', name: 'trainer-a' });
 *   await c.start();
 *   for await (const ep of c) train(ep.arrays.q.data, ep.header.joint_names);   // acked when the loop moves on
 *   await c.close();
 */
import { Dealer } from 'zeromq';
import { UserError, safeText } from '../errors.ts';
import { SendQueue } from './queue.ts';
import {
  PROTOCOL, WIRE_LIMITS, WireError, decodeEpisode, isIpv6Endpoint, isLocalEndpoint, json, parseSmallBody, parseReports,
  type EpisodeHeader, type EpisodeReports, type Mode, type WelcomeBody, type WireTensor,
} from './wire.ts';

/** Resend an unanswered HELLO after this long (the server may have died with it). */
const HELLO_RETRY_MS = 5000;
/** Acks fewer than half a window wait at most this long to go out together (when the server still has credit). */
const ACK_DELAY_MS = 5;
/** Byte-sized window: bounds and starting size (episodes), and the default budget. */
const MIN_WINDOW = 4;
const MAX_WINDOW = 64;
const START_WINDOW = 16;
const WINDOW_BYTES = 64 * 2 ** 20;
/**
 * Confirmed sequence numbers remembered to recognise a late second copy. A copy can only be one the server
 * sent before it took the ack (it never sends an acked episode again), so the recent ones suffice; the set
 * does not grow with the stream.
 */
const CONFIRMED_KEPT = 8192;

export interface CurveClientOptions {
  /** The server's Z85 public key. */
  serverKey: string;
  publicKey: string;
  secretKey: string;
}

export interface ConsumerOptions {
  connect: string;
  name: string;
  mode?: Mode;
  /** Shared mode: the group to share a cursor with (default: the name). */
  group?: string;
  /**
   * A fixed window: episodes the server may have in flight to this trainer (received but not acked).
   * Default: sized by bytes (`windowBytes`).
   */
  credit?: number;
  /**
   * Without `credit`, the window is as many episodes as fit in this many bytes, by the sizes received so far
   * (between 4 and 64 episodes; 16 until the first arrives). Default 64 MiB.
   */
  windowBytes?: number;
  curve?: CurveClientOptions | null;
  /** Ack each episode when the next one is asked for (default true); otherwise call ep.ack(). */
  autoAck?: boolean;
  heartbeatMs?: number;
  /**
   * Ask the server to wait this long (ms) before taking a silent trainer for dead (only longer than the
   * server's own timeout counts). For trainers that block for long stretches without calling into the consumer.
   */
  sessionTimeoutMs?: number;
  /** Give up if the server has not said WELCOME within this time (ms). Default 10000. */
  connectTimeoutMs?: number;
  /** After WELCOME: give up if the server is silent this long (ms); 0 = wait for it to come back. */
  serverTimeoutMs?: number;
  onEvent?: (e: ConsumerEvent) => void;
  /** Largest message frame accepted from the server (ZeroMQ drops the connection on a larger one). Default 2 GiB − 1. */
  maxFrameBytes?: number;
}

export type ConsumerEvent =
  | { type: 'welcome'; welcome: WelcomeBody; reconnect: boolean }
  | { type: 'corrupt'; seq: number | null; message: string }
  | { type: 'duplicate'; seq: number }
  | { type: 'confirmed'; seq: number; id: string }
  | { type: 'reset'; reason: string }
  | { type: 'end'; total: number; unreadable: number[]; removed: number[] };

/** What the server's END said: positions it could not read from its store, and ones removed from it. */
export interface EndInfo {
  total: number;
  acked: number;
  unreadable: number[];
  removed: number[];
}

export interface ReceivedEpisode {
  seq: number;
  id: string;
  header: EpisodeHeader;
  /** Provenance, quality and validation reports (parsed when first read). */
  readonly reports: EpisodeReports;
  arrays: Record<string, WireTensor>;
  /** Acknowledge: the server will never send this episode to this trainer name/group again. */
  ack(): void;
  /** Reject: the server sends it again. */
  nack(reason?: string): void;
}

interface Settler {
  settle(ep: ReceivedEpisode, ok: boolean, reason: string): void;
}

/** A received episode (its reports parsed when first read). */
class Received implements ReceivedEpisode {
  readonly id: string;
  private parsed: EpisodeReports | null = null;

  constructor(
    private readonly owner: Settler,
    readonly seq: number,
    readonly header: EpisodeHeader,
    private readonly rawReports: Uint8Array,
    readonly arrays: Record<string, WireTensor>,
  ) {
    this.id = header.id;
  }

  get reports(): EpisodeReports {
    return (this.parsed ??= parseReports(this.rawReports));
  }

  ack(): void {
    this.owner.settle(this, true, '');
  }

  nack(reason = 'rejected by trainer'): void {
    this.owner.settle(this, false, reason);
  }
}

export interface ConsumerStats {
  received: number;
  duplicates: number;
  corrupt: number;
  acked: number;
  confirmed: number;
  bytes: number;
}

export class EpisodeConsumer implements AsyncIterable<ReceivedEpisode> {
  readonly options: ConsumerOptions;
  private readonly dealer: Dealer;
  private readonly out: SendQueue;
  /** Episodes the server may have unacked with this trainer; fixed (`credit`) or sized by bytes. */
  private window: number;
  private readonly fixedWindow: boolean;
  /** Running mean of episode sizes (bytes), for the byte-sized window. */
  private meanBytes = 0;
  private readonly buffer: ReceivedEpisode[] = [];
  private readonly held = new Map<number, ReceivedEpisode>();
  private readonly ackPending = new Map<number, string>();
  private readonly confirmed = new Set<number>();
  private pendingAcks: number[] = [];
  /** Credit to give with the next acks: one per ack, plus window growth; negative after the window shrank. */
  private pendingCredit = 0;
  /** Credit the server holds and has not used yet, as far as this trainer knows (granted − episodes received). */
  private unspent = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private lastDelivered: ReceivedEpisode | null = null;
  private waiters: (() => void)[] = [];
  private helloPending = false;
  private helloSentAt = 0;
  private ended = false;
  private fatal: Error | null = null;
  private closed = false;
  private lastHeard = Date.now();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatEvery = 1000;
  private started = false;
  /** The receive under way (zeromq.js allows one per socket), started by whoever waits on the socket. */
  private receiving: Promise<void> | null = null;
  /** When that receive began (the server is silent only while someone waits for it). */
  private receiveSince = 0;
  welcome: WelcomeBody | null = null;
  /** The server's END, once it came (its unreadable list is a failure the caller must report). */
  end: EndInfo | null = null;
  /** How a received episode's ack() and nack() reach this consumer. */
  private readonly settler: Settler = {
    settle: (ep, ok, reason) => (ok ? this.ack(ep) : this.nack(ep, reason)),
  };
  readonly stats: ConsumerStats = { received: 0, duplicates: 0, corrupt: 0, acked: 0, confirmed: 0, bytes: 0 };

  constructor(options: ConsumerOptions) {
    this.options = options;
    if (!options.curve && !isLocalEndpoint(options.connect)) {
      throw new UserError(`${options.connect} is not a loopback or ipc endpoint: CURVE is required (the server's public key and a trainer key pair)`);
    }
    this.fixedWindow = options.credit !== undefined;
    this.window = this.fixedWindow ? Math.max(1, Math.min(4096, options.credit!)) : START_WINDOW;
    const c = options.curve;
    this.dealer = new Dealer({
      linger: 0,
      // The server is a peer too: a frame larger than this closes the connection instead of filling memory.
      maxMessageSize: options.maxFrameBytes ?? WIRE_LIMITS.episodeFrameBytes,
      ...(isIpv6Endpoint(options.connect) ? { ipv6: true } : {}),
      receiveHighWaterMark: 100000,
      sendHighWaterMark: 100000,
      ...(c ? { curveServerKey: c.serverKey, curvePublicKey: c.publicKey, curveSecretKey: c.secretKey } : {}),
    });
    this.out = new SendQueue(this.dealer);
    this.dealer.events.on('handshake:error:auth', () => {
      this.fail(new UserError(`${options.connect}: the server refused this trainer's key (not on its allow-list)`));
    });
    this.dealer.events.on('handshake:error:protocol', () => {
      this.fail(new UserError(`${options.connect}: security handshake failed (wrong server key, or CURVE on one side only?)`));
    });
  }

  /** Connect and say HELLO; resolves with the server's WELCOME. */
  async start(): Promise<WelcomeBody> {
    if (this.started) throw new Error('EpisodeConsumer.start() called twice');
    this.started = true;
    this.dealer.connect(this.options.connect);
    this.heartbeatEvery = this.options.heartbeatMs ?? 1000;
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.heartbeatEvery);
    this.sendHello();
    const timeout = this.options.connectTimeoutMs ?? 10000;
    const t = setTimeout(() => {
      this.fail(new UserError(`${this.options.connect}: no answer from a reel2real server within ${timeout} ms`));
    }, timeout);
    try {
      while (!this.welcome && !this.fatal && !this.closed) await this.waitForServer();
      if (this.fatal) throw this.fatal;
      if (!this.welcome) throw new UserError(`${this.options.connect}: consumer closed before the server answered`);
      return this.welcome;
    } catch (err) {
      await this.close(0); // release the socket and timers so the process can exit
      throw err;
    } finally {
      clearTimeout(t);
    }
  }

  private sendHello(): void {
    this.helloPending = true;
    this.helloSentAt = Date.now();
    const holding = [...this.buffer.map((e) => e.seq), ...this.held.keys()];
    this.pendingCredit = 0;
    this.unspent = Math.max(0, this.window - holding.length);
    this.out.push([
      'HELLO',
      json({
        protocol: PROTOCOL,
        name: this.options.name,
        ...(this.options.mode ? { mode: this.options.mode } : {}),
        ...(this.options.group ? { group: this.options.group } : {}),
        credit: this.unspent,
        acks: [...this.ackPending.keys()],
        holding,
        ...(this.options.sessionTimeoutMs ? { timeout_ms: this.options.sessionTimeoutMs } : {}),
      }),
    ]);
    this.pendingAcks = [];
  }

  private heartbeat(): void {
    if (this.closed) return;
    const timeout = this.options.serverTimeoutMs ?? 0;
    // Silence counts only while the app waits on the server (not while it trains with episodes in hand).
    const silent = Date.now() - Math.max(this.lastHeard, this.receiveSince);
    if (timeout > 0 && this.welcome && this.receiving && silent > timeout) {
      this.fail(new UserError(`${this.options.connect}: the server has been silent for ${silent} ms`));
      return;
    }
    if (this.welcome && !this.helloPending) this.out.push(['PING', '{}']);
    // A HELLO can be lost with a server that died right after taking it: say it again after a while.
    if (this.helloPending && Date.now() - this.helloSentAt > HELLO_RETRY_MS) this.sendHello();
  }

  private fail(err: Error): void {
    if (this.fatal || this.closed) return;
    this.fatal = err;
    this.wake();
  }

  private wake(): void {
    if (!this.waiters.length) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Wait until a message from the server has been handled (or the consumer failed, or closed). */
  private waitForServer(): Promise<void> {
    this.receiving ??= this.receiveOne();
    return new Promise<void>((r) => this.waiters.push(r));
  }

  /** Take one message off the socket, handle it, and wake whoever waits (next(), start(), close()). */
  private async receiveOne(): Promise<void> {
    this.receiveSince = Date.now();
    let frames: Buffer[];
    try {
      frames = await this.dealer.receive();
    } catch (err) {
      // (`await` always yields, so `receiving` was set before this runs.)
      this.receiving = null;
      if (!this.closed) this.fail(err as Error);
      this.wake();
      return;
    }
    this.receiving = null;
    this.lastHeard = Date.now();
    try {
      this.handle(frames);
    } catch (err) {
      this.fail(err as Error);
    }
    this.wake();
  }

  private handle(frames: Buffer[]): void {
    // EPISODE is the only 7-byte command starting with 'E' (END, ERROR): no string made per episode.
    if (frames[0]?.length === 7 && frames[0][0] === 0x45) return this.onEpisode(frames);
    const cmd = frames[0]?.toString();
    switch (cmd) {
      case 'WELCOME': {
        const w = checkWelcome(parseSmallBody(frames[1]));
        if (!w) {
          this.fail(new UserError(`${this.options.connect}: the server's WELCOME is malformed (not a reel2real server?)`));
          return;
        }
        const reconnect = this.welcome !== null;
        this.welcome = w;
        // Ping at least as often as the server asks.
        if (w.heartbeat_ms > 0 && w.heartbeat_ms < this.heartbeatEvery && this.heartbeatTimer) {
          clearInterval(this.heartbeatTimer);
          this.heartbeatEvery = w.heartbeat_ms;
          this.heartbeatTimer = setInterval(() => this.heartbeat(), this.heartbeatEvery);
        }
        this.helloPending = false;
        // Acks made while the HELLO was unanswered go out now.
        if (this.pendingAcks.length) this.scheduleFlush();
        this.options.onEvent?.({ type: 'welcome', welcome: w, reconnect });
        return;
      }
      case 'ACKED': {
        const b = parseSmallBody(frames[1]);
        for (const p of seqs(b?.seqs)) {
          const id = this.ackPending.get(p);
          if (id === undefined) continue;
          this.ackPending.delete(p);
          if (this.confirmed.has(p)) continue;
          this.confirmed.add(p);
          // Only recent ones can still arrive again (sent before the server took the ack): keep a bounded set.
          if (this.confirmed.size > CONFIRMED_KEPT) this.confirmed.delete(this.confirmed.values().next().value as number);
          this.stats.confirmed++;
          this.options.onEvent?.({ type: 'confirmed', seq: p, id });
        }
        return;
      }
      case 'END': {
        const b = parseSmallBody(frames[1]);
        this.ended = true;
        this.end = { total: count(b?.total), acked: count(b?.acked), unreadable: seqs(b?.unreadable), removed: seqs(b?.removed) };
        this.options.onEvent?.({ type: 'end', total: this.end.total, unreadable: this.end.unreadable, removed: this.end.removed });
        return;
      }
      case 'RESET': {
        if (this.helloPending) return;
        const b = parseSmallBody(frames[1]);
        this.options.onEvent?.({ type: 'reset', reason: safeText(String(b?.reason ?? ''), 200) });
        this.sendHello();
        return;
      }
      case 'PONG':
        return;
      case 'ERROR': {
        const b = parseSmallBody(frames[1]);
        this.fail(new UserError(`${this.options.connect}: server error: ${safeText(String(b?.message ?? 'unknown'), 300)}`));
        return;
      }
      default:
        return;
    }
  }

  private onEpisode(frames: Buffer[]): void {
    this.unspent--;
    // A server never sends beyond the credit it was given (after a reconnect, at most a window of copies more).
    if (this.unspent < -(2 * this.window + 16)) {
      this.fail(new UserError(`${this.options.connect}: the server sent far more episodes than it was given credit for (protocol violation)`));
      return;
    }
    let seq: number | null = null;
    try {
      const d = decodeEpisode(frames[1], frames[2], frames.slice(3));
      seq = d.header.seq;
      if (this.isKnown(seq)) return this.duplicate(seq);
      const ep = new Received(this.settler, seq, d.header, d.reports, d.arrays);
      this.stats.received++;
      let bytes = 0;
      for (let i = 3; i < frames.length; i++) bytes += frames[i].byteLength;
      this.stats.bytes += bytes;
      if (!this.fixedWindow) this.resize(bytes);
      this.buffer.push(ep);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      seq = err.seq;
      this.stats.corrupt++;
      this.options.onEvent?.({ type: 'corrupt', seq, message: err.message });
      if (seq === null) {
        // Cannot tell which episode it was: give the credit back; the server's timeout redelivers it.
        this.grant('CREDIT', { n: 1 }, 1);
        return;
      }
      if (this.isKnown(seq)) return this.duplicate(seq);
      this.grant('NACK', { seqs: [seq], credit: 1, reason: err.message }, 1);
    }
  }

  private isKnown(seq: number): boolean {
    if (this.confirmed.has(seq) || this.ackPending.has(seq) || this.held.has(seq)) return true;
    for (const e of this.buffer) if (e.seq === seq) return true;
    return false;
  }

  /** A second copy of an episode this trainer already has (after a reconnect): settle it without passing it on. */
  private duplicate(seq: number): void {
    this.stats.duplicates++;
    this.options.onEvent?.({ type: 'duplicate', seq });
    if (this.confirmed.has(seq) || this.ackPending.has(seq)) this.grant('ACK', { seqs: [seq], credit: 1 }, 1);
    else this.grant('CREDIT', { n: 1 }, 1);
  }

  private ack(ep: ReceivedEpisode): void {
    if (!this.held.has(ep.seq)) return;
    this.held.delete(ep.seq);
    this.ackPending.set(ep.seq, ep.id);
    this.stats.acked++;
    this.pendingAcks.push(ep.seq);
    this.pendingCredit++;
    this.scheduleFlush();
  }

  private nack(ep: ReceivedEpisode, reason: string): void {
    if (!this.held.has(ep.seq)) return;
    this.held.delete(ep.seq);
    this.grant('NACK', { seqs: [ep.seq], credit: 1, reason }, 1);
  }

  /** Byte-sized window: follow the running mean episode size; growth goes out with the next acks, a shrink is taken from them. */
  private resize(bytes: number): void {
    this.meanBytes = this.meanBytes ? 0.8 * this.meanBytes + 0.2 * bytes : bytes;
    const budget = this.options.windowBytes ?? WINDOW_BYTES;
    const target = Math.max(MIN_WINDOW, Math.min(MAX_WINDOW, Math.floor(budget / Math.max(1, this.meanBytes))));
    this.pendingCredit += target - this.window;
    this.window = target;
  }

  /** Send a message that gives the server `n` credit. */
  private grant(cmd: 'ACK' | 'NACK' | 'CREDIT', body: Record<string, unknown>, n: number): void {
    this.unspent += n;
    this.out.push([cmd, json(body)]);
  }

  private flushAcks(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (!this.pendingAcks.length && this.pendingCredit <= 0) return;
    const credit = Math.max(0, this.pendingCredit);
    this.grant('ACK', { seqs: this.pendingAcks, credit }, credit);
    this.pendingAcks = [];
    this.pendingCredit -= credit;
  }

  /**
   * Acks go out together: at once when half a window has gathered or the server is running out of credit
   * (a quarter window or less left), otherwise within ACK_DELAY_MS. (One ACK per episode would cost the
   * server a wake-up per episode.)
   */
  private scheduleFlush(): void {
    if (this.closed || this.helloPending) return; // a pending HELLO carries them
    if (this.pendingAcks.length >= Math.max(1, this.window >> 1) || this.unspent <= this.window >> 2) {
      this.flushAcks();
      return;
    }
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      if (this.closed || this.helloPending) return;
      this.flushAcks();
    }, ACK_DELAY_MS);
  }

  /** The next episode, or null at the end of the stream. With autoAck, acks the previous one first. */
  async next(): Promise<ReceivedEpisode | null> {
    if (!this.started) await this.start();
    if (this.lastDelivered && (this.options.autoAck ?? true)) this.lastDelivered.ack();
    this.lastDelivered = null;
    for (;;) {
      if (this.fatal) throw this.fatal;
      if (this.closed) return null;
      const ep = this.buffer.shift();
      if (ep) {
        this.held.set(ep.seq, ep);
        this.lastDelivered = ep;
        return ep;
      }
      if (this.ended && this.held.size === 0) return null;
      await this.waitForServer();
    }
  }

  /** `for await (const ep of consumer)`: starts the consumer if needed; each step is `next()`. */
  [Symbol.asyncIterator](): AsyncIterator<ReceivedEpisode> {
    const step = async (): Promise<IteratorResult<ReceivedEpisode>> => {
      const ep = await this.next();
      return ep ? { value: ep, done: false } : { value: undefined, done: true };
    };
    return { next: step };
  }

  /** Acked episodes the server has confirmed as durably recorded. */
  get confirmedCount(): number {
    return this.stats.confirmed;
  }

  /**
   * Ack what the app has finished (with autoAck, the last episode handed out), wait up to `waitMs` for the
   * server to confirm outstanding acks, say BYE and close the socket.
   */
  async close(waitMs = 3000): Promise<void> {
    if (this.closed) return;
    if (this.lastDelivered && (this.options.autoAck ?? true)) this.lastDelivered.ack();
    this.lastDelivered = null;
    if (this.welcome && !this.fatal) {
      this.flushAcks();
      const until = Date.now() + waitMs;
      while (this.ackPending.size && Date.now() < until && !this.fatal) {
        this.receiving ??= this.receiveOne();
        await new Promise<void>((r) => {
          const t = setTimeout(r, 50);
          this.waiters.push(() => { clearTimeout(t); r(); });
        });
      }
      this.out.push(['BYE', '{}']);
      await Promise.race([this.out.drain(), new Promise((r) => setTimeout(r, 200))]);
    }
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    this.out.close();
    // Give the last ACK/BYE a moment to leave (a lost BYE only delays redelivery to the session timeout).
    if (this.welcome && !this.fatal) this.dealer.linger = 500;
    this.dealer.close();
    this.wake();
    await this.receiving; // a receive under way ends with the socket
  }
}

/** A list of sequence numbers from a peer: non-negative integers only, at most WIRE_LIMITS.seqList of them. */
function seqs(v: unknown): number[] {
  if (!Array.isArray(v)) return [];
  return v.slice(0, WIRE_LIMITS.seqList).filter((x): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0);
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

/** The WELCOME body when every field is what the protocol says (strings bounded), else null. */
function checkWelcome(b: Record<string, unknown> | null): WelcomeBody | null {
  if (!b) return null;
  const str = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 512;
  const ms = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 86_400_000;
  if (b.protocol !== PROTOCOL || !str(b.session) || !str(b.cursor) || (b.mode !== 'shared' && b.mode !== 'broadcast')) return null;
  if (count(b.total) !== b.total || count(b.acked) !== b.acked || typeof b.follow !== 'boolean' || !ms(b.heartbeat_ms) || !ms(b.timeout_ms)) return null;
  return { ...(b as unknown as WelcomeBody), session: safeText(b.session as string, 512), cursor: safeText(b.cursor as string, 512) };
}
