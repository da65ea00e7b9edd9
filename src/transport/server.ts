/**
 * EpisodeServer: streams a store's episodes to trainers over ZeroMQ ROUTER/DEALER with credit-based flow
 * control, acknowledgements by sequence number, redelivery of what a lost trainer held, and a durable
 * cursor per trainer name (broadcast) or per group (shared). See docs/wire-format.md.
 *
 *   const server = new EpisodeServer({ source: store, bind: 'tcp://127.0.0.1:5555', stateDir });
 *   await server.start(); ... await server.close();
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Publisher, Router } from 'zeromq';
import { UserError } from '../errors.ts';
import type { Episode, IndexEntry } from '../store/episode.ts';
import { Cursor } from './cursor.ts';
import { SendQueue, isPromise, type Message } from './queue.ts';
import { StreamLog } from './stream.ts';
import {
  PROTOCOL, WIRE_LIMITS, encodeEpisode, headerFrame, isIpv6Endpoint, isLocalEndpoint, json, parseBody,
  type EncodedEpisode, type Mode, type WelcomeBody,
} from './wire.ts';
import { registerZapDomain, unregisterZapDomain } from './zap.ts';

/** What the server reads episodes from: the store (src/store) or anything with the same two calls. */
export interface EpisodeSource {
  list(): IndexEntry[] | Promise<IndexEntry[]>;
  get(id: string): Episode | Promise<Episode>;
  /**
   * Optional: the episode already encoded for the wire (`encodeEpisode`), for a source that keeps its
   * episodes ready to send (MemorySource encodes each once, when it is appended); undefined to have the
   * server encode what `get` returns.
   */
  encoded?(id: string): EncodedEpisode | undefined;
}

export interface CurveServerOptions {
  publicKey: string;
  secretKey: string;
  /** Z85 public keys of the trainers allowed to connect. */
  allow: string[];
}

export interface ServerOptions {
  source: EpisodeSource;
  /** ZeroMQ endpoint, e.g. tcp://127.0.0.1:5555, tcp://0.0.0.0:5555 (needs curve), ipc:///tmp/r2r.sock. */
  bind: string;
  /** Where cursors are kept (`<stateDir>/cursors/*.json`); e.g. `<store>/.transport`. */
  stateDir: string;
  /** CURVE keys and allow-list; required unless the endpoint is loopback/ipc/inproc. */
  curve?: CurveServerOptions | null;
  /** Only accept trainers in this mode (and use it for trainers that do not say). Default: either. */
  mode?: Mode | null;
  /** Keep serving episodes appended to the store's index (polled every pollMs). */
  follow?: boolean;
  pollMs?: number;
  /** Interval trainers should ping at; a trainer silent for timeoutMs is lost and its episodes go back. */
  heartbeatMs?: number;
  timeoutMs?: number;
  /** PUB endpoint for telemetry (progress, counters; never episode data). */
  telemetry?: string | null;
  telemetryMs?: number;
  /** How long acks may wait to be persisted together (ms, default 20): one cursor write + fsync per window. ACKED is sent after they are on disk. */
  flushMs?: number;
  /** Encoded episodes kept in memory for redelivery and for other cursors. */
  cacheSize?: number;
  onEvent?: (e: ServerEvent) => void;
  /** Test hooks: flip one byte of the first tensor the first time each listed sequence number is sent. */
  testHooks?: { corruptOnce?: number[] };
}

export type ServerEvent =
  | { type: 'listening'; endpoint: string; curve: boolean; episodes: number; telemetry: string | null }
  | { type: 'hello'; session: string; name: string; cursor: string; mode: Mode; acked: number; total: number }
  | { type: 'ack'; session: string; name: string; cursor: string; seq: number; id: string }
  | { type: 'duplicate-ack'; session: string; name: string; cursor: string; seq: number; id: string }
  | { type: 'nack'; session: string; name: string; cursor: string; seq: number; id: string; reason: string }
  | { type: 'session-lost'; session: string; name: string; cursor: string; released: number; why: string }
  | { type: 'bye'; session: string; name: string; cursor: string; released: number }
  | { type: 'end'; session: string; name: string; cursor: string; total: number }
  | { type: 'appended'; count: number; total: number }
  | { type: 'unreadable'; seq: number; id: string; error: string }
  | { type: 'refused'; address: string; publicKey: string | null }
  | { type: 'corrupted'; seq: number; tensor: string }
  | { type: 'protocol-error'; session: string; message: string };

interface Session {
  key: string;
  rid: Buffer;
  name: string;
  mode: Mode;
  cursor: Cursor;
  credit: number;
  lastSeen: number;
  /** Silence after which the session is lost (the server's timeoutMs, or longer if the trainer asked). */
  timeoutMs: number;
  toConfirm: number[];
  ended: boolean;
}

export interface ServerStats {
  sent: number;
  bytes: number;
  redelivered: number;
  /** Episodes acked (first time), and the ACK messages that carried them. */
  acks: number;
  ackMessages: number;
  duplicateAcks: number;
  nacks: number;
  sessionsLost: number;
}

const MAX_CREDIT = 4096;
/** Sessions at once: a peer opening connection after connection cannot grow the server without bound. */
const MAX_SESSIONS = 1024;
const EPISODE_CMD = Buffer.from('EPISODE');
const MAX_SESSION_TIMEOUT_MS = 3_600_000;

export class EpisodeServer {
  readonly options: Required<Omit<ServerOptions, 'curve' | 'telemetry' | 'onEvent' | 'testHooks' | 'mode'>> & ServerOptions;
  private router: Router | null = null;
  private pub: Publisher | null = null;
  private out: SendQueue | null = null;
  private pubOut: SendQueue | null = null;
  private zapDomain: string | null = null;
  private readonly log: StreamLog;
  private readonly entryById = new Map<string, IndexEntry>();
  /** Episode ids in stream order (seq = index here); see stream.ts. */
  private ids: string[] = [];
  private seen = new Set<string>();
  /** Positions whose episode is no longer in the store's index (removed). */
  private gone = new Set<number>();
  private readonly sessions = new Map<string, Session>();
  private readonly cursors = new Map<string, Cursor>();
  private readonly cache = new Map<number, EncodedEpisode>();
  private readonly unreadable = new Set<number>();
  /** Positions a trainer rejected: encoded again with checksums computed from the arrays, not the source's. */
  private readonly recheck = new Set<number>();
  private readonly corruptOnce: Set<number>;
  private timers: NodeJS.Timeout[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private flushAgain = false;
  private reading: Promise<void> | null = null;
  private polling = false;
  private closed = false;
  endpoint = '';
  readonly stats: ServerStats = { sent: 0, bytes: 0, redelivered: 0, acks: 0, ackMessages: 0, duplicateAcks: 0, nacks: 0, sessionsLost: 0 };

  constructor(options: ServerOptions) {
    this.options = {
      follow: false,
      pollMs: 500,
      heartbeatMs: 1000,
      timeoutMs: 5000,
      telemetryMs: 1000,
      flushMs: 20,
      cacheSize: 64,
      ...options,
    };
    this.corruptOnce = new Set(options.testHooks?.corruptOnce ?? []);
    this.log = new StreamLog(this.options.stateDir);
  }

  private emit(e: ServerEvent): void {
    this.options.onEvent?.(e);
  }

  /** Bind and start serving; resolves with the bound endpoint (a `tcp://...:*` bind gets its real port). */
  async start(): Promise<string> {
    const o = this.options;
    const curve = o.curve ?? null;
    if (!curve && !isLocalEndpoint(o.bind)) {
      throw new UserError(`${o.bind} is not a loopback or ipc endpoint: CURVE is required (give a server key and an allow-list of trainer keys)`);
    }
    if (o.telemetry && !curve && !isLocalEndpoint(o.telemetry)) {
      throw new UserError(`telemetry endpoint ${o.telemetry} is not loopback: CURVE is required`);
    }
    this.log.lock();
    try {
      this.ids = this.log.load();
      this.seen = new Set(this.ids);
      await this.refresh();
    } catch (err) {
      this.log.unlock();
      throw err;
    }
    const secure: Record<string, unknown> = {};
    if (curve) {
      this.zapDomain = `reel2real-${randomBytes(6).toString('hex')}`;
      await registerZapDomain(this.zapDomain, curve.allow, (d) => {
        if (!d.allowed) this.emit({ type: 'refused', address: d.address, publicKey: d.publicKey });
      });
      Object.assign(secure, { curveServer: true, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey, zapDomain: this.zapDomain });
    }
    // Trainers only send small control messages: a larger frame closes that connection (maxMessageSize).
    const ipv6 = isIpv6Endpoint(o.bind) ? { ipv6: true } : {};
    const router = new Router({ mandatory: true, linger: 0, sendHighWaterMark: 100000, receiveHighWaterMark: 100000, maxMessageSize: WIRE_LIMITS.controlMessageBytes, ...ipv6, ...secure });
    try {
      await router.bind(o.bind);
    } catch (err) {
      router.close();
      this.log.unlock();
      if (this.zapDomain) await unregisterZapDomain(this.zapDomain);
      throw new UserError(`cannot bind ${o.bind}: ${(err as Error).message}`);
    }
    this.router = router;
    this.endpoint = router.lastEndpoint ?? o.bind;
    this.out = new SendQueue(router);
    if (o.telemetry) {
      const pub = new Publisher({ linger: 0, ...(o.telemetry && isIpv6Endpoint(o.telemetry) ? { ipv6: true } : {}), ...secure });
      try {
        await pub.bind(o.telemetry);
      } catch (err) {
        pub.close();
        this.router.close();
        this.log.unlock();
        if (this.zapDomain) await unregisterZapDomain(this.zapDomain);
        throw new UserError(`cannot bind telemetry endpoint ${o.telemetry}: ${(err as Error).message}`);
      }
      this.pub = pub;
      this.pubOut = new SendQueue(pub);
      this.timers.push(setInterval(() => this.publishTelemetry(), o.telemetryMs));
    }
    this.timers.push(setInterval(() => this.checkLiveness(), Math.max(50, Math.min(o.heartbeatMs, o.timeoutMs / 2))));
    if (o.follow) this.timers.push(setInterval(() => void this.poll(), o.pollMs));
    this.reading = this.readLoop(router);
    this.emit({ type: 'listening', endpoint: this.endpoint, curve: !!curve, episodes: this.ids.length - this.gone.size, telemetry: this.pub?.lastEndpoint ?? null });
    return this.endpoint;
  }

  /** Stop: persist cursors, close sockets. Trainers keep their state and resume with the next server. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    await this.flushNow();
    await Promise.race([this.out?.drain(), new Promise((r) => setTimeout(r, 500))]);
    this.out?.close();
    this.pubOut?.close();
    this.router?.close();
    this.pub?.close();
    await this.reading;
    if (this.zapDomain) await unregisterZapDomain(this.zapDomain);
    this.log.unlock();
  }

  get total(): number {
    return this.ids.length;
  }

  private async refresh(): Promise<number> {
    const list = await this.options.source.list();
    const current = new Set<string>();
    const fresh: string[] = [];
    for (const e of list) {
      current.add(e.id);
      this.entryById.set(e.id, e);
      if (this.seen.has(e.id)) continue;
      this.seen.add(e.id);
      fresh.push(e.id);
    }
    this.log.append(fresh);
    for (const id of fresh) this.ids.push(id);
    this.gone = new Set();
    this.ids.forEach((id, p) => { if (!current.has(id)) this.gone.add(p); });
    return fresh.length;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      const added = await this.refresh();
      if (added) {
        this.emit({ type: 'appended', count: added, total: this.ids.length });
        for (const s of this.sessions.values()) this.dispatch(s);
      }
    } catch {
      /* the index is being written; try again at the next poll */
    } finally {
      this.polling = false;
    }
  }

  private cursorFor(key: string): Cursor {
    let c = this.cursors.get(key);
    if (!c) {
      c = new Cursor(key, this.options.stateDir);
      c.load(this.ids);
      this.cursors.set(key, c);
    }
    return c;
  }

  private send(rid: Buffer, cmd: string, body: unknown): void {
    this.out?.push([rid, cmd, json(body)]);
  }

  private async readLoop(router: Router): Promise<void> {
    try {
      for await (const frames of router) {
        try {
          this.handle(frames);
        } catch (err) {
          const key = frames[0] ? frames[0].toString('hex') : '?';
          this.emit({ type: 'protocol-error', session: key, message: (err as Error).message });
          if (frames[0]) this.send(frames[0], 'ERROR', { code: 'bad-request', message: (err as Error).message });
        }
      }
    } catch {
      /* socket closed */
    }
  }

  private handle(frames: Buffer[]): void {
    const [rid, cmdB, bodyB] = frames;
    if (!rid || !cmdB) return;
    const key = rid.toString('hex');
    const cmd = cmdB.toString();
    const body = parseBody(bodyB) ?? {};
    if (cmd === 'HELLO') return this.hello(rid, key, body);
    const s = this.sessions.get(key);
    if (!s) {
      if (cmd !== 'BYE') this.send(rid, 'RESET', { reason: 'unknown session: send HELLO' });
      return;
    }
    s.lastSeen = Date.now();
    switch (cmd) {
      case 'PING':
        this.send(rid, 'PONG', {});
        return;
      case 'CREDIT':
        this.addCredit(s, body.n);
        this.dispatch(s);
        return;
      case 'ACK':
        this.stats.ackMessages++;
        this.ack(s, seqList(body.seqs));
        this.addCredit(s, body.credit);
        this.dispatch(s);
        return;
      case 'NACK':
        this.nack(s, seqList(body.seqs), typeof body.reason === 'string' ? body.reason.slice(0, 500) : 'nack');
        this.addCredit(s, body.credit);
        this.dispatch(s);
        return;
      case 'BYE': {
        const released = this.drop(s);
        this.emit({ type: 'bye', session: s.key, name: s.name, cursor: s.cursor.key, released });
        return;
      }
      default:
        throw new Error(`unknown command ${JSON.stringify(cmd)}`);
    }
  }

  private addCredit(s: Session, n: unknown): void {
    if (typeof n === 'number' && Number.isInteger(n) && n > 0) s.credit = Math.min(MAX_CREDIT, s.credit + n);
  }

  private hello(rid: Buffer, key: string, b: Record<string, unknown>): void {
    if (b.protocol !== PROTOCOL) throw new Error(`protocol ${JSON.stringify(b.protocol)} not supported (server speaks ${PROTOCOL})`);
    const name = b.name;
    if (typeof name !== 'string' || !name || name.length > 200) throw new Error('HELLO needs a trainer name (1-200 characters)');
    const mode = b.mode ?? this.options.mode ?? 'broadcast';
    if (mode !== 'shared' && mode !== 'broadcast') throw new Error(`mode must be "shared" or "broadcast", got ${JSON.stringify(mode)}`);
    if (this.options.mode && mode !== this.options.mode) throw new Error(`this server streams in ${this.options.mode} mode only`);
    const group = b.group === undefined || b.group === null ? name : b.group;
    if (typeof group !== 'string' || !group || group.length > 200) throw new Error('group must be a non-empty string');
    const credit = typeof b.credit === 'number' && Number.isInteger(b.credit) && b.credit >= 0 ? Math.min(MAX_CREDIT, b.credit) : 0;
    const old = this.sessions.get(key);
    if (old) this.drop(old);
    else if (this.sessions.size >= MAX_SESSIONS) throw new Error(`too many trainers connected (${MAX_SESSIONS})`);
    const cursor = this.cursorFor(mode === 'shared' ? `group:${group}` : `trainer:${name}`);
    // A trainer whose steps can be long (e.g. a DataLoader worker blocked on a full queue) may ask for a longer
    // liveness window, up to an hour; never a shorter one than the server's.
    const asked = typeof b.timeout_ms === 'number' && Number.isFinite(b.timeout_ms) ? b.timeout_ms : 0;
    const timeoutMs = Math.max(this.options.timeoutMs, Math.min(MAX_SESSION_TIMEOUT_MS, asked));
    const s: Session = { key, rid, name, mode, cursor, credit, lastSeen: Date.now(), timeoutMs, toConfirm: [], ended: false };
    this.sessions.set(key, s);
    this.ack(s, seqList(b.acks));
    for (const p of seqList(b.holding)) cursor.claim(p, this.ids.length, key);
    const welcome: WelcomeBody = {
      protocol: PROTOCOL,
      session: key,
      cursor: cursor.key,
      mode,
      total: this.ids.length,
      acked: cursor.ackedCount(this.ids.length),
      follow: this.options.follow,
      heartbeat_ms: this.options.heartbeatMs,
      timeout_ms: timeoutMs,
    };
    this.send(rid, 'WELCOME', welcome);
    this.emit({ type: 'hello', session: key, name, cursor: cursor.key, mode, acked: welcome.acked, total: welcome.total });
    this.dispatch(s);
    this.scheduleFlush();
  }

  private ack(s: Session, seqs: number[]): void {
    for (const p of seqs) {
      if (p >= this.ids.length) continue;
      const fresh = s.cursor.ack(p);
      if (fresh) this.stats.acks++;
      else this.stats.duplicateAcks++;
      if (this.options.onEvent) {
        this.emit({ type: fresh ? 'ack' : 'duplicate-ack', session: s.key, name: s.name, cursor: s.cursor.key, seq: p, id: this.ids[p] });
      }
      s.toConfirm.push(p);
    }
    // The last acks of a finished stream are written at once: nothing more will join the group.
    if (seqs.length) this.scheduleFlush(!this.options.follow && s.cursor.complete(this.ids.length));
  }

  private nack(s: Session, seqs: number[], reason: string): void {
    for (const p of seqs) {
      if (s.cursor.inflight.get(p) !== s.key) continue;
      s.cursor.release(p);
      this.stats.nacks++;
      // Sent again from the arrays themselves: the source's checksum may be the stale one.
      this.recheck.add(p);
      this.cache.delete(p);
      this.emit({ type: 'nack', session: s.key, name: s.name, cursor: s.cursor.key, seq: p, id: this.ids[p], reason });
    }
  }

  /** Remove a session, putting what it held back in its cursor's queue. */
  private drop(s: Session): number {
    this.sessions.delete(s.key);
    let released = 0;
    for (const [p, owner] of [...s.cursor.inflight]) {
      if (owner !== s.key) continue;
      s.cursor.release(p);
      released++;
    }
    if (released) for (const o of this.sessions.values()) if (o.cursor === s.cursor) this.dispatch(o);
    return released;
  }

  private lost(s: Session, why: string): void {
    if (this.sessions.get(s.key) !== s) return;
    const released = this.drop(s);
    this.stats.sessionsLost++;
    this.emit({ type: 'session-lost', session: s.key, name: s.name, cursor: s.cursor.key, released, why });
  }

  private checkLiveness(): void {
    const now = Date.now();
    for (const s of [...this.sessions.values()]) {
      if (now - s.lastSeen > s.timeoutMs) this.lost(s, `no message for ${now - s.lastSeen} ms`);
    }
  }

  /** Send as many episodes as the session has credit for. */
  private dispatch(s: Session): void {
    if (this.closed || this.sessions.get(s.key) !== s) return;
    const total = this.ids.length;
    while (s.credit > 0) {
      const p = this.takeReadable(s.cursor, total, s.key);
      if (p < 0) break;
      s.credit--;
      const delivery = s.cursor.deliveries.get(p) ?? 1;
      if (delivery > 1) this.stats.redelivered++;
      this.out!.push(
        () => this.episodeMessage(s, p, delivery),
        () => {
          // Peer unreachable (gone): its session is lost and what it held goes back.
          if (s.cursor.inflight.get(p) === s.key) s.cursor.release(p);
          this.lost(s, 'unreachable');
        },
      );
    }
    this.checkEnd(s.cursor);
  }

  private takeReadable(c: Cursor, total: number, session: string): number {
    for (;;) {
      const p = c.take(total, session);
      if (p < 0 || (!this.unreadable.has(p) && !this.gone.has(p))) return p;
      c.inflight.delete(p);
    }
  }

  /**
   * The EPISODE message for position p, or null when it is no longer due. Synchronous when the episode is
   * cached or the source answers synchronously (no promise per episode on the send path).
   */
  private episodeMessage(s: Session, p: number, delivery: number): Message | null | Promise<Message | null> {
    if (!this.due(s, p)) return null;
    const enc = this.cache.get(p) ?? (this.recheck.has(p) || this.gone.has(p) ? undefined : this.options.source.encoded?.(this.ids[p]));
    if (enc) return this.episodeFrames(s, p, delivery, enc);
    const entry = this.entryById.get(this.ids[p]);
    let got: Episode | Promise<Episode>;
    try {
      if (!entry || this.gone.has(p)) throw new Error('removed from the store');
      got = this.options.source.get(this.ids[p]);
    } catch (err) {
      return this.episodeUnreadable(s, p, err);
    }
    if (isPromise(got)) return got.then((ep) => this.encodeAndFrame(s, p, delivery, ep, entry!), (err) => this.episodeUnreadable(s, p, err));
    return this.encodeAndFrame(s, p, delivery, got, entry!);
  }

  private encodeAndFrame(s: Session, p: number, delivery: number, ep: Episode, entry: IndexEntry): Message | null {
    let enc: EncodedEpisode;
    try {
      enc = this.encode(p, ep, entry);
    } catch (err) {
      return this.episodeUnreadable(s, p, err);
    }
    return this.episodeFrames(s, p, delivery, enc);
  }

  private encode(p: number, ep: Episode, entry: IndexEntry): EncodedEpisode {
    const enc = encodeEpisode(ep, entry, { recompute: this.recheck.has(p) });
    this.cache.set(p, enc);
    if (this.cache.size > this.options.cacheSize) this.cache.delete(this.cache.keys().next().value as number);
    return enc;
  }

  /** Whether position p is still to be sent to s: the session may have been lost, or the episode acked (via a reconnect), while the send waited in the queue. */
  private due(s: Session, p: number): boolean {
    return s.cursor.inflight.get(p) === s.key && this.sessions.get(s.key) === s;
  }

  private episodeUnreadable(s: Session, p: number, err: unknown): null {
    this.unreadable.add(p);
    s.cursor.inflight.delete(p);
    this.emit({ type: 'unreadable', seq: p, id: this.ids[p], error: (err as Error).message.split('\n')[0] });
    s.credit++;
    queueMicrotask(() => this.dispatch(s));
    return null;
  }

  private episodeFrames(s: Session, p: number, delivery: number, enc: EncodedEpisode): Message | null {
    if (!this.due(s, p)) return null; // again: the read may have been asynchronous
    const header = headerFrame(enc, p, delivery);
    let frames = enc.frames;
    if (this.corruptOnce.has(p) && frames.length) {
      this.corruptOnce.delete(p);
      const bad = Buffer.from(frames[0]);
      bad[bad.length >> 1] ^= 0x40;
      frames = [bad, ...frames.slice(1)];
      this.emit({ type: 'corrupted', seq: p, tensor: enc.header.tensors[0].name });
    }
    this.stats.sent++;
    for (const f of frames) this.stats.bytes += f.byteLength;
    return [s.rid, EPISODE_CMD, header, enc.reports, ...frames];
  }

  private checkEnd(c: Cursor): void {
    if (this.options.follow) return;
    const total = this.ids.length;
    let done = c.complete(total);
    if (!done && (this.unreadable.size || this.gone.size)) {
      const skipped = new Set([...this.unreadable, ...this.gone]);
      done = c.inflight.size === 0 && c.redeliver.length === 0 && c.ackedCount(total) + [...skipped].filter((p) => !c.isAcked(p)).length === total;
    }
    if (!done || c.dirty || this.flushing) return;
    for (const s of this.sessions.values()) {
      if (s.cursor !== c || s.ended || s.toConfirm.length) continue;
      s.ended = true;
      this.send(s.rid, 'END', {
        total,
        acked: c.ackedCount(total),
        unreadable: [...this.unreadable].sort((a, b) => a - b),
        removed: [...this.gone].sort((a, b) => a - b),
      });
      this.emit({ type: 'end', session: s.key, name: s.name, cursor: c.key, total });
    }
  }

  /** Persist pending acks within flushMs (group commit), or as soon as possible with `now`. */
  private scheduleFlush(now = false): void {
    if (this.closed) return;
    if (now) {
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.flushTimer = null;
      this.flush();
      return;
    }
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flush();
    }, this.options.flushMs);
  }

  /**
   * Persist dirty cursors (asynchronously: sending goes on meanwhile), then confirm the acks they hold
   * (ACKED), then tell finished trainers END. Acks arriving during a write wait for the next one.
   */
  private flush(): void {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    const confirm = new Map<Session, number[]>();
    for (const s of this.sessions.values()) {
      if (!s.toConfirm.length) continue;
      confirm.set(s, s.toConfirm);
      s.toConfirm = [];
    }
    const dirty = [...this.cursors.values()].filter((c) => c.dirty);
    this.flushing = Promise.all(dirty.map((c) => c.saveAsync(this.ids)))
      .then(() => {
        for (const [s, seqs] of confirm) if (this.sessions.get(s.key) === s) this.send(s.rid, 'ACKED', { seqs });
      })
      .catch((err) => {
        // Not on disk: do not confirm; the trainers repeat these acks if the server restarts.
        for (const c of dirty) c.dirty = true;
        this.emit({ type: 'protocol-error', session: '-', message: `cannot write cursor: ${(err as Error).message}` });
      })
      .finally(() => {
        this.flushing = null;
        const waiting = [...this.sessions.values()].filter((s) => s.toConfirm.length);
        if (this.flushAgain || waiting.length) {
          this.flushAgain = false;
          this.scheduleFlush(!this.options.follow && waiting.some((s) => s.cursor.complete(this.ids.length)));
        }
        for (const c of this.cursors.values()) this.checkEnd(c);
      });
  }

  /** Wait for cursor writes in progress and write what is still dirty (synchronously). */
  private async flushNow(): Promise<void> {
    while (this.flushing) await this.flushing;
    for (const c of this.cursors.values()) if (c.dirty) c.save(this.ids);
  }

  /** Progress per cursor and counters, as published on the telemetry socket. */
  telemetry(): Record<string, unknown> {
    const total = this.ids.length;
    const cursors: Record<string, unknown> = {};
    for (const c of this.cursors.values()) {
      cursors[c.key] = { total, acked: c.ackedCount(total), inflight: c.inflight.size, queued_redelivery: c.redeliver.length };
    }
    return {
      time: new Date().toISOString(),
      endpoint: this.endpoint,
      episodes: total,
      sessions: [...this.sessions.values()].map((s) => ({ session: s.key, name: s.name, cursor: s.cursor.key, credit: s.credit })),
      cursors,
      counters: { ...this.stats },
    };
  }

  private publishTelemetry(): void {
    if (!this.pubOut || this.pubOut.length > 4) return;
    this.pubOut.push(['telemetry', json(this.telemetry())]);
  }
}

function seqList(v: unknown): number[] {
  if (!Array.isArray(v)) return [];
  return v.slice(0, WIRE_LIMITS.seqList).filter((x): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0);
}

/** Default state directory for a store: `<store>/.transport`. */
export function defaultStateDir(storeDir: string): string {
  return path.join(storeDir, '.transport');
}
