/**
 * Crash recovery with real processes and real sockets: a trainer killed mid-stream and restarted, and a
 * server killed mid-stream and restarted. Every episode must be acked exactly once for the trainer name;
 * acked ones are never sent again; what was held unacked is sent again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EpisodeServer, type ServerEvent } from '../../src/transport/server.ts';
import { EpisodeConsumer } from '../../src/transport/consumer.ts';
import { syntheticSource } from './fixtures/episodes.ts';
import { killAndRestart, spawnFixture, startFixtureServer, tmpDir, type Child } from './helpers.ts';

const children: Child[] = [];
afterEach(() => {
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
  children.length = 0;
});

describe('transport crash recovery', () => {
  it('a trainer killed mid-stream and restarted gets every episode exactly once (acked never resent, unacked resent)', async () => {
    const N = 30;
    const source = syntheticSource(N, 1, 50);
    const ids = source.list().map((e) => e.id);
    const state = tmpDir();
    const events: ServerEvent[] = [];
    const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: state, heartbeatMs: 200, timeoutMs: 1000, onEvent: (e) => events.push(e) });
    const endpoint = await server.start();
    try {
      const run1 = spawnFixture('trainer.ts', [endpoint, 't1', 'broadcast', '4', '80']);
      children.push(run1);
      await run1.waitFor((l) => l.filter((x) => x.ev === 'confirmed').length >= 8);
      run1.proc.kill('SIGKILL');
      await run1.exited;
      const recv1 = run1.lines.filter((x) => x.ev === 'recv');
      const conf1 = new Set(run1.lines.filter((x) => x.ev === 'confirmed').map((x) => x.id));
      expect(recv1.length).toBeLessThan(N);

      const run2 = spawnFixture('trainer.ts', [endpoint, 't1', 'broadcast', '4', '5']);
      children.push(run2);
      expect(await run2.exited).toBe(0);
      const recv2 = run2.lines.filter((x) => x.ev === 'recv');
      expect(run2.lines.at(-1)!.ev).toBe('end');

      // Server side: each episode acked exactly once for trainer t1, all of them.
      const acked = events.filter((e): e is Extract<ServerEvent, { type: 'ack' }> => e.type === 'ack' && e.cursor === 'trainer:t1').map((e) => e.id);
      expect(acked.length).toBe(N);
      expect(new Set(acked)).toEqual(new Set(ids));
      // Acked (confirmed) in run 1 are never sent again.
      for (const r of recv2) expect(conf1.has(r.id)).toBe(false);
      // No episode twice within the restarted run, and the two runs together saw everything.
      expect(new Set(recv2.map((r) => r.id)).size).toBe(recv2.length);
      expect(new Set([...recv1, ...recv2].map((r) => r.id))).toEqual(new Set(ids));
      // Exactly once per trainer name: what run 1's session acked and what run 2 received partition the stream.
      const session1 = (events.find((e) => e.type === 'hello') as { session: string }).session;
      const ackedBy1 = new Set(events.filter((e) => e.type === 'ack' && e.session === session1).map((e) => (e as { id: string }).id));
      for (const r of recv2) expect(ackedBy1.has(r.id)).toBe(false);
      expect(new Set([...ackedBy1, ...recv2.map((r) => r.id)])).toEqual(new Set(ids));
      // Run 1 died holding episodes it had not acked; they came back, marked as redeliveries.
      expect(recv1.filter((r) => !ackedBy1.has(r.id)).length).toBeGreaterThan(0);
      expect(recv2.filter((r) => r.delivery > 1).length).toBeGreaterThan(0);
      // The durable cursor is complete.
      const curFile = fs.readdirSync(path.join(state, 'cursors')).filter((f) => !f.startsWith('.')).map((f) => JSON.parse(fs.readFileSync(path.join(state, 'cursors', f), 'utf8')));
      expect(curFile.find((c) => c.key === 'trainer:t1').low).toBe(N);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('shared group: one of two trainers killed mid-stream; the survivor gets what it held, each episode acked once', async () => {
    const N = 30;
    const source = syntheticSource(N, 0.5, 50);
    const ids = source.list().map((e) => e.id);
    const events: ServerEvent[] = [];
    const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: tmpDir(), heartbeatMs: 200, timeoutMs: 1000, onEvent: (e) => events.push(e) });
    const endpoint = await server.start();
    try {
      const a = spawnFixture('trainer.ts', [endpoint, 'a', 'shared', '3', '60']);
      const b = spawnFixture('trainer.ts', [endpoint, 'b', 'shared', '3', '60']);
      children.push(a, b);
      await a.waitFor((l) => l.filter((x) => x.ev === 'confirmed').length >= 3);
      a.proc.kill('SIGKILL');
      await a.exited;
      expect(await b.exited).toBe(0);
      const acked = events.filter((e) => e.type === 'ack').map((e) => (e as { id: string }).id);
      expect(acked.length).toBe(N);
      expect(new Set(acked)).toEqual(new Set(ids));
      const lost = events.find((e) => e.type === 'session-lost') as { released: number; cursor: string } | undefined;
      expect(lost?.cursor).toBe('group:g');
      expect(lost!.released).toBeGreaterThan(0);
      const recvB = b.lines.filter((x) => x.ev === 'recv');
      expect(recvB.some((r) => r.delivery > 1)).toBe(true);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('a server killed mid-stream and restarted: the trainer resumes and gets every episode exactly once', async () => {
    const N = 40;
    const dir = tmpDir();
    const endpoint = `ipc://${path.join(dir, 'r2r.sock')}`;
    const state = path.join(dir, 'state');
    const ids = syntheticSource(N, 1, 50).list().map((e) => e.id);
    const s1 = await startFixtureServer([endpoint, state, String(N), '1', '50'], children);

    const received: string[] = [];
    const confirmed: string[] = [];
    let reconnects = 0;
    const c = new EpisodeConsumer({
      connect: endpoint, name: 'trainer-r', credit: 4, heartbeatMs: 100,
      onEvent: (e) => {
        if (e.type === 'confirmed') confirmed.push(e.id);
        if (e.type === 'welcome' && e.reconnect) reconnects++;
      },
    });
    await c.start();
    let killed: Promise<void> | null = null;
    for await (const ep of c) {
      received.push(ep.id);
      await new Promise((r) => setTimeout(r, 15));
      if (!killed && confirmed.length >= 10) {
        // Kill the server without warning and start a new one on the same endpoint and state.
        killed = killAndRestart(s1, [endpoint, state, String(N), '1', '50'], children, 300).then(() => {});
      }
    }
    await killed;
    await c.close();
    expect(reconnects).toBeGreaterThanOrEqual(1);
    expect(received.length).toBe(N);
    expect(new Set(received)).toEqual(new Set(ids));
    expect(confirmed.length).toBe(N);
    expect(new Set(confirmed)).toEqual(new Set(ids));
    const cursor = fs.readdirSync(path.join(state, 'cursors')).filter((f) => !f.startsWith('.')).map((f) => JSON.parse(fs.readFileSync(path.join(state, 'cursors', f), 'utf8')))[0];
    expect(cursor.low).toBe(N);
  }, 60_000);
});
