/**
 * What a Python trainer gets: episodes/s and MB/s of `examples/python/consumer.py` (pyzmq + numpy, as users
 * run it) reading from `EpisodeServer`, beside a bare pyzmq PULL of the same multipart bytes from a zeromq.js
 * PUSH, with and without the CRC-32 check a Python reader must do (`zlib.crc32`), in the same run, rounds
 * alternating. Plain TCP on 127.0.0.1; the server and the PUSH run in this process, Python in a child.
 *
 *   node --import tsx benchmarks/transport/python.ts [--episodes 1000] [--rounds 3] [--seconds 10] [--fps 50]
 *
 * Needs a python3 with zmq and numpy (Debian: python3-zmq python3-numpy).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Push } from 'zeromq';
import { EpisodeServer } from '../../src/transport/server.ts';
import type { MemorySource } from '../../src/transport/memory.ts';
import { pythonWith } from '../../test/helpers/python.ts';
import { benchStream, startChild, withReports } from './common.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

// The Python side: time from the first episode to the last, as the TypeScript benchmark does.
const PY = String.raw`
import sys, json, time, zlib
import zmq
kind, endpoint, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, sys.argv[4])
n = 0; nbytes = 0; t0 = 0.0; c0 = 0.0
if kind == "ours":
    from consumer import EpisodeConsumer
    c = EpisodeConsumer(endpoint, name="py-bench", credit=64)
    c.start()
    print("ready", flush=True)
    for ep in c:
        if n == 0: t0 = time.perf_counter(); c0 = time.process_time()
        nbytes += sum(t["bytes"] for t in ep.header["tensors"])
        float(ep.arrays["q"][-1, 0])
        n += 1
        if n == count: break
    t1 = time.perf_counter(); c1 = time.process_time()
    c.close()
else:
    ctx = zmq.Context.instance(); s = ctx.socket(zmq.PULL); s.setsockopt(zmq.RCVHWM, 100000); s.connect(endpoint)
    print("ready", flush=True)
    check = kind == "barecrc"
    while n < count:
        frames = s.recv_multipart(copy=False)
        if n == 0: t0 = time.perf_counter(); c0 = time.process_time()
        for i, f in enumerate(frames[2:]):  # reports frame, then tensors
            if i: nbytes += len(f.buffer)
            if check: zlib.crc32(f.buffer)
        n += 1
    t1 = time.perf_counter(); c1 = time.process_time()
    s.close(linger=0)
print(json.dumps({"episodes": n, "bytes": nbytes, "seconds": t1 - t0, "cpu": c1 - c0}), flush=True)
`;

interface Result { episodes: number; bytes: number; seconds: number; cpu: number }

function startPython(exe: string, kind: string, endpoint: string, count: number): { ready: Promise<void>; done: Promise<Result> } {
  return startChild<Result>(exe, ['-c', PY, kind, endpoint, String(count), path.join(root, 'examples', 'python')]);
}

async function bare(exe: string, messages: Buffer[][], count: number, crc: boolean): Promise<Result> {
  const push = new Push({ sendHighWaterMark: 1000 });
  await push.bind('tcp://127.0.0.1:*');
  const py = startPython(exe, crc ? 'barecrc' : 'bare', push.lastEndpoint!, count);
  await py.ready;
  for (let i = 0; i < count; i++) await push.send(messages[i]);
  const r = await py.done;
  push.close();
  return r;
}

async function ours(exe: string, source: MemorySource, count: number): Promise<Result> {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-bench-py-'));
  const server = new EpisodeServer({ source, bind: 'tcp://127.0.0.1:*', stateDir: state });
  const endpoint = await server.start();
  try {
    return await startPython(exe, 'ours', endpoint, count).done;
  } finally {
    await server.close();
    fs.rmSync(state, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const exe = pythonWith(['zmq', 'numpy']);
  if (!exe) {
    process.stderr.write('benchmarks/transport/python.ts: no python3 with zmq and numpy (apt-get install python3-zmq python3-numpy)\n');
    process.exit(1);
  }
  const count = arg('episodes', 1000);
  const rounds = arg('rounds', 3);
  const seconds = arg('seconds', 10);
  const fps = arg('fps', 50);
  // Real-sized headers (see common.ts).
  const { source, enc, messages } = benchStream(count, seconds, fps, withReports(false));
  const rows: Record<string, number[]> = {};
  const loadBefore = os.loadavg()[0];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['bare', 'barecrc', 'ours'] : ['ours', 'barecrc', 'bare'];
    for (const k of order) {
      const r = k === 'ours' ? await ours(exe, source, count) : await bare(exe, messages, count, k === 'barecrc');
      const eps = (r.episodes - 1) / r.seconds;
      (rows[k] ??= []).push(eps);
      process.stderr.write(`${k}: ${eps.toFixed(0)} episodes/s, ${((eps * r.bytes) / r.episodes / 1e6).toFixed(0)} MB/s, Python CPU ${((r.cpu * 1000) / r.episodes).toFixed(3)} ms/episode\n`);
    }
  }
  const bytes = enc.frames.reduce((a, f) => a + f.byteLength, 0);
  process.stdout.write(`${JSON.stringify({
    date: new Date().toISOString(),
    machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}, ${exe}`,
    load_average_1min: { before: +loadBefore.toFixed(1), after: +os.loadavg()[0].toFixed(1) },
    command: `node --import tsx benchmarks/transport/python.ts --episodes ${count} --rounds ${rounds} --seconds ${seconds} --fps ${fps}`,
    episode_bytes: bytes,
    median_episodes_per_s: Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, +median(v).toFixed(0)])),
  }, null, 2)}\n\n| Python reader | episodes/s | MB/s | vs bare pyzmq PULL |\n|---|---|---|---|\n`);
  const label: Record<string, string> = {
    bare: 'bare pyzmq PULL (no checks)',
    barecrc: 'bare pyzmq PULL + zlib.crc32 of every tensor frame',
    ours: 'examples/python/consumer.py (credit 64, CRC-32 checked, numpy views, acks)',
  };
  for (const k of ['bare', 'barecrc', 'ours']) {
    const eps = median(rows[k]);
    process.stdout.write(`| ${label[k]} | ${eps.toFixed(0)} | ${((eps * bytes) / 1e6).toFixed(0)} | ${(eps / median(rows.bare)).toFixed(2)} |\n`);
  }
}

await main();
