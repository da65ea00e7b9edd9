/**
 * Group commit of acks: ACKED is sent only once the cursor file on disk holds the ack; many acks share one
 * cursor write; a server killed after receiving acks but before writing them loses none and the trainer
 * gets no episode twice (it repeats the unconfirmed acks in its next HELLO). Also the cached EPISODE header.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EpisodeServer } from '../../src/transport/server.ts';
import { EpisodeConsumer } from '../../src/transport/consumer.ts';
import { cursorFileName } from '../../src/transport/cursor.ts';
import { decodeEpisode, encodeEpisode, headerFrame } from '../../src/transport/wire.ts';
import { syntheticEpisode, syntheticSource } from './fixtures/episodes.ts';
import { killAndRestart, startFixtureServer, tmpDir, type Child } from './helpers.ts';

const children: Child[] = [];
afterEach(() => {
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
  children.length = 0;
});

function readCursor(file: string): { low: number; acked: Record<string, string> } | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

describe('transport group commit', () => {
  it('the EPISODE header made from the cached JSON is the header with this send\'s seq and delivery', () => {
    const { entry, episode } = syntheticEpisode(3, 1, 50);
    const enc = encodeEpisode(episode, entry);
    const a = headerFrame(enc, 7, 1);
    const b = headerFrame(enc, 123456, 3);
    expect(enc.headerTail).toBeDefined();
    expect(JSON.parse(a.toString('utf8'))).toEqual({ ...enc.header, seq: 7, delivery: 1 });
    expect(JSON.parse(b.toString('utf8'))).toEqual({ ...enc.header, seq: 123456, delivery: 3 });
    const d = decodeEpisode(b, enc.reports, enc.frames);
    expect(d.header.seq).toBe(123456);
    expect(d.header.delivery).toBe(3);
    expect(d.arrays.q.data).toEqual(episode.motion!.q);
  });

  it('ACKED only after the ack is in the cursor file, and one cursor write covers many acks', async () => {
    const N = 60;
    const state = tmpDir();
    const source = syntheticSource(N, 0.2, 50);
    const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: state, flushMs: 30 });
    const endpoint = await server.start();
    const file = cursorFileName(state, 'trainer:gc');
    // Count the cursor writes (each is an atomic rename onto the cursor file).
    const rename = fs.promises.rename;
    let writes = 0;
    fs.promises.rename = async (from, to) => {
      if (to === file) writes++;
      return rename(from, to);
    };
    const notDurable: number[] = [];
    let confirmed = 0;
    try {
      const c = new EpisodeConsumer({
        connect: endpoint, name: 'gc', credit: 8,
        onEvent: (e) => {
          if (e.type !== 'confirmed') return;
          confirmed++;
          const cur = readCursor(file);
          if (!cur || !(e.seq < cur.low || cur.acked[String(e.seq)] === e.id)) notDurable.push(e.seq);
        },
      });
      let n = 0;
      for await (const ep of c) {
        expect(ep.seq).toBe(n++);
      }
      await c.close();
      expect(n).toBe(N);
    } finally {
      fs.promises.rename = rename;
      await server.close();
    }
    expect(confirmed).toBe(N);
    expect(notDurable).toEqual([]);
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThan(N / 3);
    expect(readCursor(file)!.low).toBe(N);
  }, 30_000);

  it('a server killed after taking acks but before writing them: nothing lost, nothing delivered twice', async () => {
    const N = 40;
    const dir = tmpDir();
    const endpoint = `ipc://${path.join(dir, 'r2r.sock')}`;
    const state = path.join(dir, 'state');
    // The first server never writes its cursor on its own (a minute-long commit window).
    const s1 = await startFixtureServer([endpoint, state, String(N), '0.5', '50', '60000'], children);

    const received: number[] = [];
    const confirmed: number[] = [];
    let reconnects = 0;
    const c = new EpisodeConsumer({
      connect: endpoint, name: 'trainer-k', credit: 4, heartbeatMs: 100,
      onEvent: (e) => {
        if (e.type === 'confirmed') confirmed.push(e.seq);
        if (e.type === 'welcome' && e.reconnect) reconnects++;
      },
    });
    await c.start();
    let killed: Promise<void> | null = null;
    let ackedAtKill = 0;
    let confirmedAtKill = -1;
    for await (const ep of c) {
      received.push(ep.seq);
      await new Promise((r) => setTimeout(r, 10));
      const acks = s1.lines.filter((x) => x.type === 'ack').length;
      if (!killed && acks >= 12) {
        ackedAtKill = acks;
        confirmedAtKill = confirmed.length;
        killed = killAndRestart(s1, [endpoint, state, String(N), '0.5', '50'], children, 200).then(() => {});
      }
    }
    await killed;
    await c.close();
    // The killed server had taken at least 12 acks and made none of them durable (nor confirmed them).
    expect(ackedAtKill).toBeGreaterThanOrEqual(12);
    expect(confirmedAtKill).toBe(0);
    expect(reconnects).toBeGreaterThanOrEqual(1);
    // Every episode reached the trainer exactly once and every ack was made durable and confirmed.
    expect(received.length).toBe(N);
    expect(new Set(received).size).toBe(N);
    expect(new Set(confirmed)).toEqual(new Set(Array.from({ length: N }, (_, i) => i)));
    const cur = readCursor(cursorFileName(state, 'trainer:trainer-k'))!;
    expect(cur.low).toBe(N);
  }, 60_000);
});
