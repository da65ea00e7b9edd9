/**
 * The Python consumer (examples/python/consumer.py: pyzmq + numpy only) against the real server: arrays equal
 * to the stored ones byte for byte (sha256), a corrupted frame NACKed and redelivered, CURVE with an
 * allowed key, resume by trainer name.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EpisodeServer, type ServerEvent } from '../../src/transport/server.ts';
import { generateKeyPair, writeKeyPair } from '../../src/transport/keys.ts';
import { episodeTensors } from '../../src/transport/wire.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';
import { pythonWith } from '../helpers/python.ts';
import { syntheticSource } from './fixtures/episodes.ts';
import { collect, spawnFixture, tmpDir } from './helpers.ts';

const py = pythonWith(['zmq', 'numpy']);
if (!py) console.warn('[skip] transport python: no Python with zmq and numpy (apt-get install python3-zmq python3-numpy)');
const consumerPy = path.join(PROJECT_ROOT, 'examples', 'python', 'consumer.py');

function runConsumer(args: string[]) {
  const c = collect(spawn(py!, [consumerPy, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  return c;
}

describe.skipIf(!py)('transport python consumer', () => {
  it('receives arrays equal to the stored ones; a corrupt frame is NACKed and comes back intact; resumes by name', async () => {
    const source = syntheticSource(8, 2, 50);
    const events: ServerEvent[] = [];
    const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: tmpDir(), onEvent: (e) => events.push(e), testHooks: { corruptOnce: [1] } });
    const ep = await server.start();
    try {
      const first = runConsumer(['--connect', ep, '--name', 'py', '--credit', '3', '--max', '3']);
      expect(await first.exited, first.stderr()).toBe(0);
      const rest = runConsumer(['--connect', ep, '--name', 'py', '--credit', '3']);
      expect(await rest.exited, rest.stderr()).toBe(0);
      const got = [...first.lines, ...rest.lines].filter((l) => l.seq !== undefined);
      expect(got.map((l) => l.seq).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      for (const l of got) {
        const stored = source.get(l.id);
        const tensors = episodeTensors(stored);
        expect(Object.keys(l.tensors)).toEqual(tensors.map((t) => t.name));
        for (const t of tensors) {
          const bytes = Buffer.from(t.arr.data.buffer, t.arr.data.byteOffset, t.arr.data.byteLength);
          expect(l.tensors[t.name].sha256, t.name).toBe(createHash('sha256').update(bytes).digest('hex'));
          expect(l.tensors[t.name].shape).toEqual(t.arr.shape);
        }
        expect(l.tensors.q.dtype).toBe('<f4');
        expect(l.tensors.timestamps.dtype).toBe('<f8');
        expect(l.robot).toBe('unitree_g1');
        // The reports frame (parsed on demand in Python) carries the stored provenance and validation.
        expect(l.contributor).toBe(stored.provenance.contributor);
        expect(l.feasible).toBe((stored.validation as { feasible: boolean }).feasible);
        expect(l.task).toBe(stored.provenance.task);
      }
      expect(events.some((e) => e.type === 'corrupted' && e.seq === 1)).toBe(true);
      expect(events.filter((e) => e.type === 'nack').map((e) => (e as { seq: number }).seq)).toEqual([1]);
      expect(got.find((l) => l.seq === 1)!.delivery).toBeGreaterThanOrEqual(2);
      const done1 = first.lines.at(-1)!;
      expect(done1).toMatchObject({ done: true, episodes: 3, corrupt: 1, confirmed: 3 });
      expect(rest.lines.at(-1)).toMatchObject({ done: true, episodes: 5, confirmed: 5 });
      expect(events.filter((e) => e.type === 'ack').length).toBe(8);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('acks go back in batches while episodes wait in the buffer (not one ACK per episode)', async () => {
    const source = syntheticSource(240, 0.2, 50);
    const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: tmpDir() });
    const ep = await server.start();
    try {
      const code = [
        'import sys, time, json',
        `sys.path.insert(0, ${JSON.stringify(path.dirname(consumerPy))})`,
        'from consumer import EpisodeConsumer',
        'c = EpisodeConsumer(sys.argv[1], name="batch", credit=16)',
        'n = 0',
        'for e in c:',
        '    n += 1',
        '    time.sleep(0.001)  # a trainer step: episodes gather in the buffer meanwhile',
        'c.close()',
        'print(json.dumps({"n": n, "confirmed": c.stats["confirmed"]}))',
      ].join('\n');
      const child = collect(spawn(py!, ['-c', code, ep], { stdio: ['ignore', 'pipe', 'pipe'] }));
      expect(await child.exited, child.stderr()).toBe(0);
      expect(child.lines.at(-1)).toEqual({ n: 240, confirmed: 240 });
      expect(server.stats.acks).toBe(240);
      expect(server.stats.ackMessages).toBeLessThan(240 / 3); // one per episode before (240)
    } finally {
      await server.close();
    }
  }, 60_000);

  it('connects over CURVE with an allowed key; a key not on the list gets nothing', async () => {
    const dir = tmpDir();
    const serverKp = generateKeyPair();
    const good = generateKeyPair();
    const bad = generateKeyPair();
    writeKeyPair(path.join(dir, 'good.key'), good);
    writeKeyPair(path.join(dir, 'bad.key'), bad);
    const source = syntheticSource(3, 0.5, 50);
    const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: dir, curve: { ...serverKp, allow: [good.publicKey] } });
    const ep = await server.start();
    try {
      const ok = runConsumer(['--connect', ep, '--name', 'g', `--server-key=${serverKp.publicKey}`, '--key', path.join(dir, 'good.key')]);
      expect(await ok.exited, ok.stderr()).toBe(0);
      expect(ok.lines.filter((l) => l.seq !== undefined).length).toBe(3);
      const no = runConsumer(['--connect', ep, '--name', 'b', '--timeout', '2', `--server-key=${serverKp.publicKey}`, '--key', path.join(dir, 'bad.key')]);
      expect(await no.exited).toBe(1);
      expect(no.lines.filter((l) => l.seq !== undefined)).toEqual([]);
      expect(no.stderr()).toMatch(/refused this trainer's key/);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('survives a server killed and restarted mid-stream: every episode exactly once', async () => {
    const dir = tmpDir();
    const endpoint = `ipc://${path.join(dir, 'py.sock')}`;
    const state = path.join(dir, 'state');
    const N = 20;
    const s1 = spawnFixture('server.ts', [endpoint, state, String(N), '0.5', '50']);
    try {
      await s1.waitFor((l) => l.some((x) => x.type === 'listening'));
      const c = runConsumer(['--connect', endpoint, '--name', 'py-r', '--credit', '3', '--step-seconds', '0.05']);
      await c.waitFor((l) => l.filter((x) => x.seq !== undefined).length >= 6);
      s1.proc.kill('SIGKILL');
      await s1.exited;
      const s2 = spawnFixture('server.ts', [endpoint, state, String(N), '0.5', '50']);
      try {
        expect(await c.exited, c.stderr()).toBe(0);
        const seqs = c.lines.filter((l) => l.seq !== undefined).map((l) => l.seq);
        expect(seqs.length).toBe(N);
        expect(new Set(seqs).size).toBe(N);
        expect(c.lines.at(-1)).toMatchObject({ done: true, episodes: N, confirmed: N });
        expect(c.lines.at(-1)!.resets).toBeGreaterThanOrEqual(1);
      } finally {
        s2.proc.kill('SIGTERM');
        await s2.exited;
      }
    } finally {
      if (s1.proc.exitCode === null) s1.proc.kill('SIGKILL');
    }
  }, 60_000);

  it('a slow but live trainer keeps its session: heartbeats go out while episodes wait in its buffer', async () => {
    const source = syntheticSource(6, 0.5, 50);
    const events: ServerEvent[] = [];
    const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: tmpDir(), heartbeatMs: 200, timeoutMs: 1000, onEvent: (e) => events.push(e) });
    const ep = await server.start();
    try {
      // 4 episodes buffered, 0.4 s of "training" each: 1.6 s without a ping would exceed the 1 s timeout.
      const c = runConsumer(['--connect', ep, '--name', 'slow', '--credit', '4', '--step-seconds', '0.4']);
      expect(await c.exited, c.stderr()).toBe(0);
      expect(events.filter((e) => e.type === 'session-lost')).toEqual([]);
      expect(events.filter((e) => e.type === 'ack').length).toBe(6);
      expect(c.lines.at(-1)).toMatchObject({ done: true, episodes: 6, duplicates: 0 });
    } finally {
      await server.close();
    }
  }, 90_000);

  // Only compiled: running it needs torch, which is not installed here (PyPI is unreachable).
  it('torch_dataset.py compiles', () => {
    const r = spawnSync(py!, ['-m', 'py_compile', path.join(PROJECT_ROOT, 'examples', 'python', 'torch_dataset.py')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
});
