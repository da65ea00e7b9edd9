/**
 * Transport benchmark: episodes/s and MB/s of `EpisodeServer` → `EpisodeConsumer` (credit, acks, CRC-32
 * checks, durable cursor) beside a bare zeromq.js PUSH/PULL of the same multipart bytes (every episode's
 * EPISODE message as the server sends it, from the same buffers), and the same PUSH/PULL with CRC-32 computed
 * at both ends (the integrity check alone), plain and CURVE, measured in the same run, rounds alternating
 * their order. The receiver runs in a child process (as a trainer would).
 * "ours" serves from a MemorySource, which encodes each episode once when it is added (checksums, header,
 * reports frame), as bare's messages are built before the clock starts; "ours, source of plain Episodes"
 * serves the same episodes from a source that only has them as Episodes, so the server encodes and
 * checksums every episode as it sends it.
 *
 *   node --import tsx benchmarks/transport/run.ts [--episodes 2000] [--rounds 5] [--seconds 10] [--fps 50] [--credit N]
 *   (--credit: a fixed window for the trainer; default the consumer's own, sized by bytes)
 *                                                 [--store N]   (also serve N episodes from a real episode store)
 *                                                 [--small-header]  (tiny reports instead of real-sized ones)
 *
 * Payload per episode: a 10 s G1 episode (29 joints) plus canonical human keypoints (59 joints) and
 * confidences, timestamps and a mask (~0.55 MB at 50 Hz). Prints a JSON summary and a markdown table.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pull, Push, curveKeyPair } from 'zeromq';
import { EpisodeServer, type EpisodeSource } from '../../src/transport/server.ts';
import { openStore } from '../../src/store/store.ts';
import { EpisodeConsumer } from '../../src/transport/consumer.ts';
import { crc32 } from '../../src/transport/wire.ts';
import { syntheticEpisode } from '../../test/transport/fixtures/episodes.ts';
import { benchStream, startChild, withReports } from './common.ts';

const here = fileURLToPath(import.meta.url);

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
function sarg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : '';
}

interface Keys { server: { publicKey: string; secretKey: string }; client: { publicKey: string; secretKey: string } }
interface Result {
  episodes: number;
  bytes: number;
  /** From the first received episode to the last one (the `count`-th). */
  seconds: number;
  /** ours only: from the last episode to the end of the stream (acks durable, END received, loop exit). */
  tail?: number;
  /** CPU seconds (user + system, all threads) the receiver process used over `seconds`. */
  cpu?: number;
  /** The same per thread name (see threadCpu). */
  threads?: Record<string, number>;
  /** CPU seconds of the sending process while it streamed (bare: send loop to receiver exit; ours: HELLO to END). */
  senderCpu?: number;
  senderThreads?: Record<string, number>;
  /** Garbage collections in the receiver over `seconds`: count of minor (scavenge) and major (mark-compact), total ms. */
  gc?: { minor: number; major: number; ms: number };
}

/** Counts garbage collections from now on (read `.gc`, reset with `.reset()`). */
function gcCounter() {
  const gc = { minor: 0, major: 0, ms: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) gc.minor++;
      else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
      gc.ms += e.duration;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  return {
    gc,
    reset: () => { gc.minor = 0; gc.major = 0; gc.ms = 0; },
    stop: () => { obs.disconnect(); return { ...gc, ms: +gc.ms.toFixed(1) }; },
  };
}

// ---- receiver (child process) -----------------------------------------------------------------------

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

/**
 * CPU seconds (user + system) used so far by this process's threads, summed per thread name (Linux
 * /proc/self/task/<tid>/stat, 10 ms ticks): `node` (the event loop), `ZMQbg/IO/0` (libzmq's I/O thread),
 * `libuv-worker` (file system calls), `V8 DefaultWorke` (GC helpers), ... CPU time, unlike wall time, is not
 * stretched when other jobs take the cores, so it shows where the work is on a shared machine.
 */
function threadCpu(): Record<string, number> {
  const out: Record<string, number> = {};
  let tasks: string[];
  try {
    tasks = fs.readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const st = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      /* thread ended */
    }
  }
  return out;
}

function threadCpuSince(before: Record<string, number>): Record<string, number> {
  const now = threadCpu();
  const d: Record<string, number> = {};
  for (const [k, v] of Object.entries(now)) {
    const x = v - (before[k] ?? 0);
    if (x > 0) d[k] = +x.toFixed(2);
  }
  return d;
}

async function receiver(): Promise<void> {
  const kind = sarg('kind');
  const endpoint = sarg('connect');
  const count = arg('count', 0);
  const keys: Keys | null = sarg('keys') ? JSON.parse(sarg('keys')) : null;
  let res: Result;
  if (kind === 'bare') {
    const pull = new Pull({ receiveHighWaterMark: 100000, ...(keys ? { curveServerKey: keys.server.publicKey, curvePublicKey: keys.client.publicKey, curveSecretKey: keys.client.secretKey } : {}) });
    pull.connect(endpoint);
    process.stdout.write('ready\n');
    let n = 0;
    let bytes = 0;
    let t0 = 0;
    let cpu0 = process.cpuUsage();
    let th0 = threadCpu();
    const gcs = gcCounter();
    const check = sarg('crc') === '1';
    for await (const frames of pull) {
      if (n === 0) { t0 = performance.now(); cpu0 = process.cpuUsage(); th0 = threadCpu(); gcs.reset(); }
      // frames: command, header, reports, tensors. A trainer checks the CRC-32 of the reports and tensors.
      for (let i = 2; i < frames.length; i++) {
        if (i > 2) bytes += frames[i].byteLength;
        if (check) crc32(frames[i]);
      }
      if (++n === count) break;
    }
    res = { episodes: n, bytes, seconds: (performance.now() - t0) / 1000, cpu: cpuSeconds(cpu0), threads: threadCpuSince(th0) };
    await new Promise((r) => setImmediate(r)); // let the observer see the last entries
    res.gc = gcs.stop();
    pull.close();
  } else {
    const c = new EpisodeConsumer({
      connect: endpoint, name: `bench-${process.pid}`, credit: arg('credit', 0) || undefined,
      curve: keys ? { serverKey: keys.server.publicKey, ...keys.client } : null,
    });
    await c.start();
    process.stdout.write('ready\n');
    let n = 0;
    let t0 = 0;
    let t1 = 0;
    let cpu0 = process.cpuUsage();
    let th0 = threadCpu();
    let cpu = 0;
    let threads: Record<string, number> = {};
    let bytes = 0;
    const gcs = gcCounter();
    let gc = { minor: 0, major: 0, ms: 0 };
    for await (const ep of c) {
      if (n === 0) { t0 = performance.now(); cpu0 = process.cpuUsage(); th0 = threadCpu(); gcs.reset(); }
      for (const t of ep.header.tensors) bytes += t.bytes;
      // Stop the clock at the last episode's arrival, as for bare PUSH/PULL; the loop then goes on to the
      // stream's END (the last acks made durable and confirmed), timed separately as `tail`.
      if (++n === count) { t1 = performance.now(); cpu = cpuSeconds(cpu0); threads = threadCpuSince(th0); gc = { ...gcs.gc }; }
    }
    const tEnd = performance.now();
    if (!t1) { t1 = tEnd; cpu = cpuSeconds(cpu0); threads = threadCpuSince(th0); gc = { ...gcs.gc }; }
    gcs.stop();
    res = { episodes: n, bytes, seconds: (t1 - t0) / 1000, tail: (tEnd - t1) / 1000, cpu, threads, gc: { ...gc, ms: +gc.ms.toFixed(1) } };
    await c.close();
  }
  // The first message starts the clock, so count n-1 intervals' worth of data.
  process.stdout.write(JSON.stringify(res) + '\n');
}

// ---- driver -----------------------------------------------------------------------------------------

function startReceiver(args: string[]): { ready: Promise<void>; done: Promise<Result> } {
  // --receiver-prof DIR: write a V8 CPU profile of every receiver process to DIR (node --cpu-prof).
  const prof = sarg('receiver-prof');
  const node = [...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []), '--import', 'tsx'];
  return startChild<Result>(process.execPath, [...node, here, '--role', 'receiver', ...args]);
}

/** `crc`: none; 'receiver' (the receiver checks every tensor frame); 'both' (the sender computes them too). */
async function bare(messages: Buffer[][], count: number, keys: Keys | null, crc: 'none' | 'receiver' | 'both'): Promise<Result> {
  const withCrc = crc === 'both';
  const push = new Push({ sendHighWaterMark: 1000, ...(keys ? { curveServer: true, curvePublicKey: keys.server.publicKey, curveSecretKey: keys.server.secretKey } : {}) });
  await push.bind('tcp://127.0.0.1:*');
  const r = startReceiver(['--kind', 'bare', '--connect', push.lastEndpoint!, '--count', String(count), '--crc', crc === 'none' ? '0' : '1', ...(keys ? ['--keys', JSON.stringify(keys)] : [])]);
  await r.ready;
  const c0 = process.cpuUsage();
  const t0 = threadCpu();
  for (let i = 0; i < count; i++) {
    // 'both': the sender checksums every tensor frame, as the server does for a source without checksums.
    const frames = messages[i % messages.length];
    if (withCrc) for (let k = 2; k < frames.length; k++) crc32(frames[k]);
    await push.send(frames);
  }
  const res = await r.done;
  res.senderCpu = cpuSeconds(c0);
  res.senderThreads = threadCpuSince(t0);
  push.close();
  return res;
}

async function ours(source: EpisodeSource, count: number, keys: Keys | null, credit: number): Promise<Result> {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-bench-'));
  let c0 = process.cpuUsage();
  let t0 = threadCpu();
  let senderCpu = 0;
  let senderThreads: Record<string, number> = {};
  const server = new EpisodeServer({
    source, bind: 'tcp://127.0.0.1:*', stateDir: state,
    curve: keys ? { ...keys.server, allow: [keys.client.publicKey] } : null,
    // Sender CPU from the trainer's HELLO to END (the server's start-up and the child's are left out).
    onEvent: (e) => {
      if (e.type === 'hello') { c0 = process.cpuUsage(); t0 = threadCpu(); }
      if (e.type === 'end') { senderCpu = cpuSeconds(c0); senderThreads = threadCpuSince(t0); }
    },
  });
  const ep = await server.start();
  const r = startReceiver(['--kind', 'ours', '--connect', ep, '--count', String(count), '--credit', String(credit), ...(keys ? ['--keys', JSON.stringify(keys)] : [])]);
  const res = await r.done;
  await server.close();
  fs.rmSync(state, { recursive: true, force: true });
  return { ...res, senderCpu, senderThreads };
}

function rate(r: Result) {
  // Rate over the n-1 intervals after the first message arrived.
  const n = r.episodes - 1;
  const perEp = r.bytes / r.episodes;
  return { eps: n / r.seconds, mbps: (n * perEp) / r.seconds / 1e6 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function driver(): Promise<void> {
  const count = arg('episodes', 2000);
  const rounds = arg('rounds', 5);
  const seconds = arg('seconds', 10);
  const fps = arg('fps', 50);
  const credit = arg('credit', 0); // 0: the consumer's default window
  // Real-sized headers unless --small-header (see common.ts).
  const smallHeader = process.argv.includes('--small-header');
  const dress = withReports(smallHeader);
  const { source, enc, messages } = benchStream(count, seconds, fps, dress);
  // The same stream from a source that only has the episodes (no checksums, not encoded): the server encodes
  // and checksums each one as it sends it.
  const unsummed: EpisodeSource = {
    list: () => source.list(),
    get: (id) => {
      const { checksums: _known, ...ep } = source.get(id);
      return ep;
    },
  };
  const payload = enc.frames.reduce((a, f) => a + f.byteLength, 0);
  const keys: Keys = { server: curveKeyPair(), client: curveKeyPair() };

  const loadBefore = os.loadavg()[0];
  const rows: Record<string, { eps: number[]; mbps: number[]; mbpsWithTail: number[] }> = {};
  const add = (k: string, r: Result) => {
    const x = rate(r);
    (rows[k] ??= { eps: [], mbps: [], mbpsWithTail: [] }).eps.push(x.eps);
    rows[k].mbps.push(x.mbps);
    rows[k].mbpsWithTail.push(rate({ ...r, seconds: r.seconds + (r.tail ?? 0) }).mbps);
    const perEp = (sec: number | undefined) => (sec === undefined ? '?' : ((sec * 1000) / r.episodes).toFixed(3));
    process.stderr.write(
      `${k}: ${x.eps.toFixed(0)} episodes/s, ${x.mbps.toFixed(0)} MB/s; CPU ms/episode: receiver ${perEp(r.cpu)}, sender ${perEp(r.senderCpu)}` +
        (r.tail !== undefined ? `; tail to END ${(r.tail * 1000).toFixed(1)} ms` : '') + '\n',
    );
    if (verbose) {
      const fmt = (t: Record<string, number> | undefined) => Object.entries(t ?? {}).map(([n, v]) => `${n} ${((v * 1000) / r.episodes).toFixed(3)}`).join(', ');
      process.stderr.write(`    threads, CPU ms/episode: receiver ${fmt(r.threads)} | sender ${fmt(r.senderThreads)}\n`);
      if (r.gc) process.stderr.write(`    receiver GC: ${r.gc.minor} minor, ${r.gc.major} major, ${r.gc.ms} ms\n`);
    }
  };
  const verbose = process.argv.includes('--threads');
  // --only ours-plain,bare-plain: run just these contenders (for profiling; the summary needs all six).
  const only = sarg('only');
  for (let round = 0; round < rounds; round++) {
    // Alternate the order so drift in machine load does not favour one side.
    const order = round % 2 === 0 ? ['bare', 'bare1', 'barecrcrx', 'barecrc', 'ours', 'oursnosum'] : ['oursnosum', 'ours', 'barecrc', 'barecrcrx', 'bare1', 'bare'];
    for (const curve of [false, true]) {
      for (const which of order) {
        const k = `${which}-${curve ? 'curve' : 'plain'}`;
        if (only && !only.split(',').includes(k)) continue;
        const kp = curve ? keys : null;
        if (which === 'ours' || which === 'oursnosum') add(k, await ours(which === 'ours' ? source : unsummed, count, kp, credit));
        else if (which === 'bare1') add(k, await bare([messages[0]], count, kp, 'none'));
        else add(k, await bare(messages, count, kp, which === 'barecrc' ? 'both' : which === 'barecrcrx' ? 'receiver' : 'none'));
      }
    }
  }
  // Optional: the same stream read from a real episode store (npz decode + sha256 verify in store.get).
  const storeCount = arg('store', 0);
  if (storeCount > 0) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-bench-store-'));
    const store = openStore(path.join(dir, 'store'), { create: true });
    for (let i = 0; i < storeCount; i++) store.put(dress(syntheticEpisode(1000 + i, seconds, fps).episode));
    for (let round = 0; round < rounds; round++) {
      add('store-plain', await ours(store, storeCount, null, credit));
      add('store-curve', await ours(store, storeCount, keys, credit));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const summary: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
    load_average_1min: { before: +loadBefore.toFixed(1), after: +os.loadavg()[0].toFixed(1) },
    command: `node --import tsx benchmarks/transport/run.ts --episodes ${count} --rounds ${rounds} --seconds ${seconds} --fps ${fps}${credit ? ` --credit ${credit}` : ''}${storeCount ? ` --store ${storeCount}` : ''}${smallHeader ? ' --small-header' : ''}`,
    episode_bytes: payload,
    header_bytes: messages[0][1].length,
    episode_frames: Math.round(seconds * fps),
    tensors: enc.header.tensors.map((t) => `${t.name} ${t.dtype} [${t.shape}]`),
    results: {} as Record<string, unknown>,
  };
  if (only) return;
  const med: Record<string, { eps: number; mbps: number }> = {};
  for (const [k, v] of Object.entries(rows)) {
    med[k] = { eps: median(v.eps), mbps: median(v.mbps) };
    (summary.results as Record<string, unknown>)[k] = { median_episodes_per_s: +med[k].eps.toFixed(1), median_mb_per_s: +med[k].mbps.toFixed(1), runs_mb_per_s: v.mbps.map((x) => +x.toFixed(1)) };
  }
  const ratioPlain = med['ours-plain'].mbps / med['bare-plain'].mbps;
  if (med['store-plain']) summary.store_vs_memory_source = +(med['store-plain'].mbps / med['ours-plain'].mbps).toFixed(3);
  const ratioCurve = med['ours-curve'].mbps / med['bare-curve'].mbps;
  summary.ratio_vs_bare = { plain: +ratioPlain.toFixed(3), curve: +ratioCurve.toFixed(3) };
  // Against the baseline used until 2026-11-21 05:45 UTC: one message sent over and over (its buffers stay in cache).
  summary.ratio_vs_bare_one_message_repeated = {
    plain: +(med['ours-plain'].mbps / med['bare1-plain'].mbps).toFixed(3),
    curve: +(med['ours-curve'].mbps / med['bare1-curve'].mbps).toFixed(3),
  };
  // The same with ours' clock running on to END (last acks durable and confirmed), as before 2026-11-21 03:10.
  summary.ratio_vs_bare_clock_to_end = {
    plain: +(median(rows['ours-plain'].mbpsWithTail) / med['bare-plain'].mbps).toFixed(3),
    curve: +(median(rows['ours-curve'].mbpsWithTail) / med['bare-curve'].mbps).toFixed(3),
  };
  summary.ratio_vs_bare_checksums_computed_at_send = {
    plain: +(med['oursnosum-plain'].mbps / med['bare-plain'].mbps).toFixed(3),
    curve: +(med['oursnosum-curve'].mbps / med['bare-curve'].mbps).toFixed(3),
  };
  summary.ratio_vs_bare_with_crc32 = {
    plain: +(med['ours-plain'].mbps / med['barecrc-plain'].mbps).toFixed(3),
    curve: +(med['ours-curve'].mbps / med['barecrc-curve'].mbps).toFixed(3),
  };
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n\n');
  process.stdout.write('| transport | episodes/s | MB/s | vs bare |\n|---|---|---|---|\n');
  for (const c of ['plain', 'curve']) {
    for (const w of ['bare', 'bare1', 'barecrcrx', 'barecrc', 'ours', 'oursnosum']) {
      const m = med[`${w}-${c}`];
      const label = {
        bare: `bare PUSH/PULL, ${c}`,
        bare1: `bare PUSH/PULL, the first message sent ${count} times (the baseline until 2026-11-21 05:45 UTC), ${c}`,
        barecrcrx: `bare PUSH/PULL + CRC-32 checked by the receiver, ${c}`,
        barecrc: `bare PUSH/PULL + CRC-32 both ends, ${c}`,
        ours: `EpisodeServer → EpisodeConsumer, ${c}`,
        oursnosum: `EpisodeServer → EpisodeConsumer, source of plain Episodes (encoded and CRC-32 at send), ${c}`,
      }[w];
      process.stdout.write(`| ${label} | ${m.eps.toFixed(0)} | ${m.mbps.toFixed(0)} | ${(m.mbps / med[`bare-${c}`].mbps).toFixed(2)} |\n`);
    }
  }
  for (const c of ['plain', 'curve']) {
    const m = med[`store-${c}`];
    if (!m) continue;
    process.stdout.write(`| EpisodeServer from the episode store (store.get: npz + sha256 verify), ${c} | ${m.eps.toFixed(0)} | ${m.mbps.toFixed(0)} | ${(m.mbps / med[`bare-${c}`].mbps).toFixed(2)} |\n`);
  }
}

if (sarg('role') === 'receiver') await receiver();
else await driver();
