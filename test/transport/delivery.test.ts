/**
 * Delivery semantics over real ZeroMQ sockets on 127.0.0.1 (server and trainers in this process):
 * broadcast, shared, corrupt frames, durable cursors, follow mode, telemetry.
 */
import { describe, expect, it } from 'vitest';
import { Dealer, Subscriber } from 'zeromq';
import { EpisodeServer, type ServerEvent } from '../../src/transport/server.ts';
import { EpisodeConsumer, type ReceivedEpisode } from '../../src/transport/consumer.ts';
import { MemorySource } from '../../src/transport/memory.ts';
import { UserError } from '../../src/errors.ts';
import { syntheticEpisode, syntheticSource } from './fixtures/episodes.ts';
import { tmpDir } from './helpers.ts';

async function drain(c: EpisodeConsumer, each?: (ep: ReceivedEpisode) => void | Promise<void>): Promise<ReceivedEpisode[]> {
  const got: ReceivedEpisode[] = [];
  for await (const ep of c) {
    got.push(ep);
    if (each) await each(ep);
  }
  await c.close();
  return got;
}

describe('transport delivery', () => {
  it('broadcast: each trainer gets every episode, with arrays equal to the stored ones', async () => {
    const source = syntheticSource(12, 1, 50);
    const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: tmpDir() });
    const ep = await server.start();
    try {
      const a = new EpisodeConsumer({ connect: ep, name: 'a', credit: 3 });
      const b = new EpisodeConsumer({ connect: ep, name: 'b', credit: 5 });
      const [ga, gb] = await Promise.all([drain(a), drain(b)]);
      const ids = source.list().map((e) => e.id);
      expect(ga.map((e) => e.id)).toEqual(ids);
      expect(gb.map((e) => e.id)).toEqual(ids);
      for (const got of ga) {
        const stored = source.get(got.id);
        expect(got.header.robot).toBe('unitree_g1');
        expect(got.header.joint_names).toEqual(stored.motion!.jointNames);
        expect(got.header.fps).toBe(50);
        expect(got.arrays.q.shape).toEqual([50, 29]);
        expect(got.arrays.q.dtype).toBe('<f4');
        expect(Buffer.from(got.arrays.q.data.buffer, got.arrays.q.data.byteOffset, got.arrays.q.data.byteLength))
          .toEqual(Buffer.from(stored.motion!.q.buffer));
        expect(Array.from(got.arrays['human.positions'].data as Float32Array)).toEqual(Array.from(stored.track!.positions));
        expect(Array.from(got.arrays.timestamps.data as Float64Array)).toEqual(Array.from(stored.motion!.timestamps));
        expect(Array.from(got.arrays['mask.valid'].data as Uint8Array)).toEqual(Array.from(stored.masks!.valid));
        expect(got.header.human!.joint_names).toEqual(stored.track!.jointNames);
        // Reports come in their own frame, parsed when read.
        expect(got.header).not.toHaveProperty('provenance');
        expect(got.reports).toEqual({ provenance: stored.provenance, quality: stored.quality, validation: stored.validation });
      }
    } finally {
      await server.close();
    }
  }, 90_000);

  it('shared: two trainers in a group split the stream (union = all, intersection = empty)', async () => {
    const source = syntheticSource(40, 0.5, 50);
    const events: ServerEvent[] = [];
    const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: tmpDir(), onEvent: (e) => events.push(e) });
    const ep = await server.start();
    try {
      const slow = (ms: number) => () => new Promise<void>((r) => setTimeout(r, ms));
      const a = new EpisodeConsumer({ connect: ep, name: 'a', mode: 'shared', group: 'g', credit: 2 });
      const b = new EpisodeConsumer({ connect: ep, name: 'b', mode: 'shared', group: 'g', credit: 2 });
      // Both joined (and granted credit) before either consumes, so each gets at least its first window.
      await Promise.all([a.start(), b.start()]);
      const [ga, gb] = await Promise.all([drain(a, slow(5)), drain(b, slow(7))]);
      const ia = ga.map((e) => e.id);
      const ib = gb.map((e) => e.id);
      expect(ia.length).toBeGreaterThanOrEqual(2);
      expect(ib.length).toBeGreaterThanOrEqual(2);
      expect(ia.filter((x) => ib.includes(x))).toEqual([]);
      expect(new Set([...ia, ...ib])).toEqual(new Set(source.list().map((e) => e.id)));
      expect(events.filter((e) => e.type === 'ack').length).toBe(40);
    } finally {
      await server.close();
    }
  }, 90_000);

  it('acks travel in batches: a trainer that keeps up sends far fewer ACK messages than episodes, and one holding most of its window still gets everything', async () => {
    const source = syntheticSource(160, 0.2, 50);
    const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: tmpDir() });
    const ep = await server.start();
    try {
      const got = await drain(new EpisodeConsumer({ connect: ep, name: 'fast', credit: 16 }));
      expect(got.length).toBe(160);
      expect(server.stats.acks).toBe(160);
      // Half a window (8) per ACK when the server keeps credit; fewer only when it runs low.
      // (acking a quarter window per message, as this consumer once did, gives 40 and up)
      expect(server.stats.ackMessages).toBeLessThanOrEqual(160 / 8 + 8);
      // Manual acks, each episode held until 12 more have arrived (12 of a window of 16 held at a time).
      const before = server.stats.ackMessages;
      const c = new EpisodeConsumer({ connect: ep, name: 'holder', credit: 16, autoAck: false });
      const holding: ReceivedEpisode[] = [];
      const seen: number[] = [];
      for await (const e of c) {
        seen.push(e.seq);
        holding.push(e);
        if (holding.length > 12) holding.shift()!.ack();
        if (seen.length === 160) for (const h of holding.splice(0)) h.ack();
      }
      await c.close();
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 160 }, (_, i) => i));
      expect(server.stats.acks).toBe(320);
      expect(server.stats.ackMessages - before).toBeLessThan(160);
    } finally {
      await server.close();
    }
  }, 90_000);

  it('without a fixed credit the window follows episode sizes: small episodes get a deep window, large ones a shallow one', async () => {
    const inflight = async (source: MemorySource, opts: { windowBytes?: number }) => {
      const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: tmpDir() });
      const ep = await server.start();
      const seen: number[] = [];
      try {
        const c = new EpisodeConsumer({ connect: ep, name: 'w', ...opts });
        for await (const _ of c) {
          await new Promise((r) => setTimeout(r, 3)); // a trainer slower than the server: the window fills
          seen.push((server.telemetry().cursors as Record<string, { inflight: number }>)['trainer:w'].inflight);
        }
        await c.close();
      } finally {
        await server.close();
      }
      return seen;
    };
    // 0.2 s episodes (~12 KB): 64 MiB holds thousands, so the window opens to its cap of 64.
    const small = await inflight(syntheticSource(150, 0.2, 50), {});
    expect(small.length).toBe(150);
    expect(Math.max(...small)).toBeGreaterThan(32);
    expect(Math.max(...small)).toBeLessThanOrEqual(64);
    // 10 s episodes (568,500 bytes) with a budget of 5 of them: the window closes from 16 to 5.
    const bytes = 568_500;
    const large = await inflight(syntheticSource(40, 10, 50), { windowBytes: 5 * bytes + 1000 });
    expect(large.length).toBe(40);
    expect(Math.max(...large.slice(0, 3))).toBeGreaterThan(8);
    expect(Math.max(...large.slice(24))).toBeLessThanOrEqual(5);
  }, 90_000);

  it('a corrupted frame is caught by its checksum, NACKed and delivered again intact', async () => {
    const source = syntheticSource(6, 1, 50);
    const events: ServerEvent[] = [];
    const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: tmpDir(), onEvent: (e) => events.push(e), testHooks: { corruptOnce: [2, 4] } });
    const ep = await server.start();
    try {
      const corrupt: (number | null)[] = [];
      const c = new EpisodeConsumer({ connect: ep, name: 'x', onEvent: (e) => { if (e.type === 'corrupt') corrupt.push(e.seq); } });
      const got = await drain(c);
      expect(events.filter((e) => e.type === 'corrupted').map((e) => (e as { seq: number }).seq).sort()).toEqual([2, 4]);
      expect(corrupt.sort()).toEqual([2, 4]);
      expect(events.filter((e) => e.type === 'nack').length).toBe(2);
      expect(got.map((e) => e.seq).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5]);
      const again = got.find((e) => e.seq === 2)!;
      expect(again.header.delivery).toBe(2);
      expect(Array.from(again.arrays.q.data as Float32Array)).toEqual(Array.from(source.get(again.id).motion!.q));
    } finally {
      await server.close();
    }
  }, 90_000);

  it('a checksum that no longer matches its arrays (changed after they were added) is NACKed once, then sent with a fresh one', async () => {
    const source = syntheticSource(4, 0.5, 50);
    const stale = source.list()[1].id;
    // Change the array after the source checksummed it (what a producer must not do, or a bad store read).
    const q = source.get(stale).motion!.q;
    q[7] += 1;
    const events: ServerEvent[] = [];
    const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: tmpDir(), onEvent: (e) => events.push(e) });
    const ep = await server.start();
    try {
      const corrupt: (number | null)[] = [];
      const c = new EpisodeConsumer({ connect: ep, name: 's', onEvent: (e) => { if (e.type === 'corrupt') corrupt.push(e.seq); } });
      const got = await drain(c);
      expect(corrupt).toEqual([1]);
      expect(events.filter((e) => e.type === 'nack').map((e) => (e as { seq: number }).seq)).toEqual([1]);
      expect(got.map((e) => e.seq).sort((x, y) => x - y)).toEqual([0, 1, 2, 3]);
      const again = got.find((e) => e.seq === 1)!;
      expect(again.header.delivery).toBe(2);
      expect(Array.from(again.arrays.q.data as Float32Array)).toEqual(Array.from(q));
    } finally {
      await server.close();
    }
  }, 90_000);

  it('a MemorySource encodes each episode once, on append; the server sends that encoding to every trainer without reading the episode again', async () => {
    const source = syntheticSource(5, 0.5, 50);
    const id0 = source.list()[0].id;
    const enc = source.encoded(id0)!;
    const ep0 = source.get(id0);
    // The tensor frames are views on the episode's arrays (no copies), with the checksums taken on append.
    expect(enc.frames[0].buffer).toBe(ep0.motion!.q.buffer);
    expect(enc.header.tensors[0].crc32).toBe(ep0.checksums!.motion!.q);
    expect(enc.headerTail).toBeDefined();
    let gets = 0;
    const counted = { list: () => source.list(), get: (id: string) => { gets++; return source.get(id); }, encoded: (id: string) => source.encoded(id) };
    const server = new EpisodeServer({ source: counted, bind: 'tcp://127.0.0.1:*', stateDir: tmpDir() });
    const ep = await server.start();
    try {
      const [ga, gb] = await Promise.all([drain(new EpisodeConsumer({ connect: ep, name: 'a' })), drain(new EpisodeConsumer({ connect: ep, name: 'b', credit: 2 }))]);
      expect(ga.map((e) => e.id)).toEqual(source.list().map((e) => e.id));
      expect(gb.map((e) => e.id)).toEqual(source.list().map((e) => e.id));
      expect(gets).toBe(0);
      expect(Array.from(gb[0].arrays.q.data as Float32Array)).toEqual(Array.from(ep0.motion!.q));
      expect(gb[0].reports).toEqual(JSON.parse(enc.reports.toString('utf8')));
    } finally {
      await server.close();
    }
  }, 90_000);

  it('serverTimeoutMs: a trainer that trains longer than it between episodes is fine; a server gone while it waits is an error', async () => {
    const source = syntheticSource(3, 0.2, 50);
    const events: ServerEvent[] = [];
    const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: tmpDir(), heartbeatMs: 100, timeoutMs: 400, onEvent: (e) => events.push(e) });
    const ep = await server.start();
    try {
      // Slow: 800 ms of "training" per episode, against a 200 ms silence limit here and the server's 400 ms
      // liveness limit: the pings go out while the trainer trains, and the server was never silent.
      const slow = new EpisodeConsumer({ connect: ep, name: 'slow', serverTimeoutMs: 200, heartbeatMs: 50 });
      const got = await drain(slow, () => new Promise((r) => setTimeout(r, 800)));
      expect(got.map((e) => e.seq)).toEqual([0, 1, 2]);
      expect(events.filter((e) => e.type === 'session-lost')).toEqual([]);
      expect(slow.stats.duplicates).toBe(0);
    } finally {
      await server.close();
    }
    // Gone: the server stops while the trainer waits for more (follow mode: no END).
    const live = new EpisodeServer({ source: syntheticSource(1, 0.2, 50), bind: 'tcp://127.0.0.1:*', stateDir: tmpDir(), follow: true, heartbeatMs: 100 });
    const ep2 = await live.start();
    const c = new EpisodeConsumer({ connect: ep2, name: 'w', serverTimeoutMs: 300, heartbeatMs: 50 });
    expect((await c.next())?.seq).toBe(0);
    await live.close();
    const t0 = Date.now();
    await expect(c.next()).rejects.toThrow(/the server has been silent for \d+ ms/);
    expect(Date.now() - t0).toBeLessThan(3000);
    await c.close(0);
  }, 90_000);

  it('durable cursor: a trainer that stops early and comes back (even to a new server) gets only the rest', async () => {
    const source = syntheticSource(10, 0.5, 50);
    const state = tmpDir();
    let server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: state });
    let ep = await server.start();
    const first: string[] = [];
    const c1 = new EpisodeConsumer({ connect: ep, name: 'r', credit: 4 });
    for await (const e of c1) {
      first.push(e.id);
      if (first.length === 4) break;
    }
    await c1.close();
    expect(c1.stats.confirmed).toBe(4);
    await server.close();
    server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: state });
    ep = await server.start();
    try {
      const c2 = new EpisodeConsumer({ connect: ep, name: 'r', credit: 4 });
      const w = await c2.start();
      expect(w.acked).toBe(4);
      const rest = (await drain(c2)).map((e) => e.id);
      expect(rest).toEqual(source.list().map((e) => e.id).slice(4));
      // Another trainer name starts from the beginning.
      const other = (await drain(new EpisodeConsumer({ connect: ep, name: 'other' }))).map((e) => e.id);
      expect(other.length).toBe(10);
      // A finished trainer gets END at once.
      const done = await drain(new EpisodeConsumer({ connect: ep, name: 'r' }));
      expect(done).toEqual([]);
    } finally {
      await server.close();
    }
  }, 90_000);

  it('follow mode serves episodes appended to the source; telemetry counts them on PUB/SUB', async () => {
    const source = new MemorySource([syntheticEpisode(0, 0.5, 50), syntheticEpisode(1, 0.5, 50)]);
    const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: tmpDir(), follow: true, pollMs: 50, telemetry: 'tcp://127.0.0.1:*', telemetryMs: 50 });
    const ep = await server.start();
    const sub = new Subscriber();
    try {
      sub.connect((server as unknown as { pub: { lastEndpoint: string } }).pub.lastEndpoint);
      sub.subscribe('telemetry');
      const c = new EpisodeConsumer({ connect: ep, name: 'f' });
      await c.start();
      const got: string[] = [];
      for await (const e of c) {
        got.push(e.id);
        if (got.length === 2) {
          source.append(syntheticEpisode(2, 0.5, 50).entry, syntheticEpisode(2, 0.5, 50).episode);
          source.append(syntheticEpisode(3, 0.5, 50).entry, syntheticEpisode(3, 0.5, 50).episode);
        }
        if (got.length === 4) break;
      }
      await c.close();
      expect(got).toEqual(source.list().map((e) => e.id));
      let t: any = null;
      for await (const [, body] of sub) {
        t = JSON.parse(body.toString());
        if (t.cursors['trainer:f']?.acked === 4) break;
      }
      expect(t.episodes).toBe(4);
      expect(t.counters.sent).toBeGreaterThanOrEqual(4);
      expect(JSON.stringify(t)).not.toContain('"q"');
    } finally {
      sub.close();
      await server.close();
    }
  }, 90_000);

  it('an episode the source cannot read is skipped and reported; the rest arrive and END lists it', async () => {
    const good = syntheticSource(4, 0.5, 50);
    const broken = good.list()[2].id;
    const source = { list: () => good.list(), get: (id: string) => { if (id === broken) throw new Error('motion.npz: bad zip'); return good.get(id); } };
    const events: ServerEvent[] = [];
    const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: tmpDir(), onEvent: (e) => events.push(e) });
    const ep = await server.start();
    try {
      const got = await drain(new EpisodeConsumer({ connect: ep, name: 'u', credit: 2 }));
      expect(got.map((e) => e.seq)).toEqual([0, 1, 3]);
      expect(events.filter((e) => e.type === 'unreadable').map((e) => (e as { seq: number }).seq)).toEqual([2]);
      expect(events.some((e) => e.type === 'end')).toBe(true);
    } finally {
      await server.close();
    }
  }, 90_000);

  it('liveness: a silent trainer is lost after timeout_ms unless its HELLO asked for a longer window', async () => {
    const source = syntheticSource(3, 0.2, 50);
    const events: ServerEvent[] = [];
    const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: tmpDir(), heartbeatMs: 100, timeoutMs: 400, onEvent: (e) => events.push(e) });
    const ep = await server.start();
    // Raw DEALERs speaking the protocol by hand, as a client in another language would; they never ping.
    const patient = new Dealer({ linger: 0 });
    const plain = new Dealer({ linger: 0 });
    try {
      patient.connect(ep);
      plain.connect(ep);
      await patient.send(['HELLO', JSON.stringify({ protocol: 1, name: 'patient', credit: 1, timeout_ms: 5000 })]);
      await plain.send(['HELLO', JSON.stringify({ protocol: 1, name: 'plain', credit: 1 })]);
      const [cmd, body] = await patient.receive();
      expect(cmd.toString()).toBe('WELCOME');
      expect(JSON.parse(body.toString()).timeout_ms).toBe(5000);
      await new Promise((r) => setTimeout(r, 1500));
      const lost = events.filter((e) => e.type === 'session-lost').map((e) => (e as { name: string; released: number }));
      expect(lost.map((e) => e.name)).toEqual(['plain']);
      expect(lost[0].released).toBe(1);
    } finally {
      patient.close();
      plain.close();
      await server.close();
    }
  }, 90_000);

  it('refuses plain transport off loopback, and a trainer in the wrong mode', async () => {
    const source = syntheticSource(1, 0.2, 50);
    await expect(new EpisodeServer({ source, bind: 'tcp://0.0.0.0:*', stateDir: tmpDir() }).start()).rejects.toThrow(/CURVE is required/);
    expect(() => new EpisodeConsumer({ connect: 'tcp://10.1.2.3:5555', name: 'x' })).toThrow(UserError);
    const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: tmpDir(), mode: 'shared' });
    const ep = await server.start();
    try {
      const c = new EpisodeConsumer({ connect: ep, name: 'x', mode: 'broadcast' });
      await expect(c.start()).rejects.toThrow(/shared mode only/);
      await c.close();
    } finally {
      await server.close();
    }
  }, 90_000);
});
