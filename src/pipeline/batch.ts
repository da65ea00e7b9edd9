/**
 * `reel2real batch`: a stateless worker that takes shard i of N of a list of recordings and runs the
 * pipeline on each into a store. Made for Slurm job arrays and Kubernetes Indexed Jobs:
 *
 * - the shard comes from `--shard/--of`, or SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN) and
 *   SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX (with --of or REEL2REAL_SHARDS);
 * - an item belongs to a shard by a hash of its path relative to the input root, so adding recordings does
 *   not move the others between shards;
 * - what is done is skipped: an episode of the same source (sha256), robot and task already in the store, or
 *   a done-marker (`<store>/batch/done/<job>.json`, also written for clips the gates refused or rejected);
 * - every core is used: the worker runs `--jobs` child processes (default: one per core), each taking every
 *   jobs-th item of the shard; the store takes several writers at once;
 * - killed and rerun, it finishes what is left and duplicates nothing (store writes are atomic, markers are
 *   written after the episode).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readYaml } from '../io/text.ts';
import { UserError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { sha256File } from '../privacy/gate.ts';
import { openStore } from '../store/store.ts';
import { loadUrdf } from '../robot/urdf.ts';
import { runClip, runExitCode, VERSION, type ClipResult, type RunOptions } from './run.ts';

export interface BatchItem {
  input: string;
  /** Path relative to the manifest's or directory's root: what shards are assigned by. */
  key: string;
  consent?: string;
  task?: string;
}

const INPUT_EXT = ['.mp4', '.mov', '.mkv', '.webm', '.avi', '.m4v', '.bvh', '.trc', '.npz', '.npy'];

/** Items of a manifest (JSON or YAML: a list, or {items: [...]}, each a path or {input, consent?, task?}) or a directory. */
export function listItems(source: string): BatchItem[] {
  if (!fs.existsSync(source)) throw new UserError('no such manifest or directory', source);
  if (fs.statSync(source).isDirectory()) {
    const out: BatchItem[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) { if (!e.name.startsWith('.')) walk(p); continue; }
        if (e.name.includes('.consent.')) continue;
        if (INPUT_EXT.includes(path.extname(e.name).toLowerCase())) out.push({ input: p, key: path.relative(source, p) });
      }
    };
    walk(source);
    return out;
  }
  const raw = readYaml(source);
  const list = Array.isArray(raw) ? raw : (raw as { items?: unknown })?.items;
  if (!Array.isArray(list)) throw new UserError('manifest must be a list of recordings or {items: [...]}', source);
  const root = path.dirname(path.resolve(source));
  return list.map((it, i) => {
    const o = typeof it === 'string' ? { input: it } : (it as Record<string, unknown>);
    if (!o || typeof o.input !== 'string') throw new UserError(`item ${i} has no "input" path`, source);
    const abs = (p: unknown) => (typeof p === 'string' ? path.resolve(root, p) : undefined);
    return { input: abs(o.input)!, key: String(o.input), consent: abs(o.consent), task: typeof o.task === 'string' ? o.task : undefined };
  });
}

/** Shard of an item: stable under additions and removals of other items. */
export function shardOf(key: string, of: number): number {
  return parseInt(createHash('sha256').update(key).digest('hex').slice(0, 8), 16) % of;
}

/** Shard index and count from flags or the cluster's environment. */
export function resolveShard(flags: { shard?: number; of?: number }, env: NodeJS.ProcessEnv = process.env): { shard: number; of: number } {
  let shard = flags.shard;
  let of = flags.of;
  if (shard === undefined && env.SLURM_ARRAY_TASK_ID !== undefined) {
    shard = Number(env.SLURM_ARRAY_TASK_ID) - Number(env.SLURM_ARRAY_TASK_MIN ?? 0);
    of ??= env.SLURM_ARRAY_TASK_COUNT !== undefined ? Number(env.SLURM_ARRAY_TASK_COUNT) : undefined;
  }
  if (shard === undefined && env.JOB_COMPLETION_INDEX !== undefined) shard = Number(env.JOB_COMPLETION_INDEX);
  of ??= env.REEL2REAL_SHARDS !== undefined ? Number(env.REEL2REAL_SHARDS) : undefined;
  shard ??= 0;
  of ??= 1;
  if (!Number.isInteger(of) || of < 1) throw new UserError(`shard count must be a positive integer, got ${of}`);
  if (!Number.isInteger(shard) || shard < 0 || shard >= of) throw new UserError(`shard index must be in [0, ${of - 1}], got ${shard}`);
  return { shard, of };
}

/** The identity of a unit of work: source content, robot(s), task, tool version. */
export function jobId(sourceSha: string, opts: Pick<RunOptions, 'robot' | 'hand'>, task?: string): string {
  const h = createHash('sha256').update(sourceSha);
  for (const f of [opts.robot, opts.hand]) h.update('\0' + (f ? sha256File(f) : ''));
  h.update('\0' + (task ?? '') + '\0' + VERSION);
  return h.digest('hex');
}

export interface BatchOptions extends Omit<RunOptions, 'task' | 'consent'> {
  task?: string;
  shard: number;
  of: number;
  /** Child processes (default: one per core). 1 runs in this process. */
  jobs?: number;
  /** Inside a child: take every `worker.of`-th item starting at `worker.index`. */
  worker?: { index: number; of: number };
  log?: (line: string) => void;
}

export interface BatchSummary {
  shard: number;
  of: number;
  items: number;
  done: number;
  skipped: number;
  results: (ClipResult & { job: string })[];
}

function markerPath(store: string, job: string): string {
  return path.join(store, 'batch', 'done', `${job}.json`);
}

/** Run this worker's part of the batch in this process. */
export async function runBatchWorker(source: string, opts: BatchOptions): Promise<BatchSummary> {
  const log = opts.log ?? ((l: string) => console.log(l));
  if (opts.worker) await exitWithParent();
  const all = listItems(source).filter((it) => shardOf(it.key, opts.of) === opts.shard);
  const mine = opts.worker ? all.filter((_, i) => i % opts.worker!.of === opts.worker!.index) : all;
  const store = openStore(opts.store, { create: true });
  const robotName = loadUrdf(opts.robot).name;
  const summary: BatchSummary = { shard: opts.shard, of: opts.of, items: mine.length, done: 0, skipped: 0, results: [] };
  for (const it of mine) {
    const task = it.task ?? opts.task;
    const sha = sha256File(it.input);
    const job = jobId(sha, opts, task);
    const marker = markerPath(store.dir, job);
    const existing = store.list().find((e) => e.robot === robotName && (e.task ?? undefined) === task && e.sources.some((s) => s.sha256 === sha));
    if (fs.existsSync(marker) || existing) {
      summary.skipped++;
      log(`${it.key}: already done${existing ? ` (${existing.id.slice(0, 12)})` : ''}, skipped`);
      continue;
    }
    const r = await runClip(it.input, { ...opts, task, consent: it.consent }, store);
    summary.results.push({ ...r, job });
    summary.done++;
    log(`${it.key}: ${r.status}${r.id ? ` ${r.id.slice(0, 12)}` : ''}${r.reasons.length && r.status !== 'stored' ? ` — ${r.reasons[0]}` : ''}`);
    // A failure that is not the input's fault is retried on the next run: only gate outcomes are final.
    if (r.status !== 'error') writeFileAtomic(marker, JSON.stringify({ job, input: it.key, source_sha256: sha, robot: robotName, task: task ?? null, status: r.status, id: r.id ?? null, reasons: r.reasons }));
  }
  return summary;
}

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'reel2real.js');

/**
 * The batch worker as the CLI runs it: with jobs > 1, one child process per job, each a worker over every
 * jobs-th item of the shard, all writing into the same store.
 */
export async function runBatch(source: string, opts: BatchOptions, argvForChild: string[]): Promise<{ exitCode: number }> {
  const jobs = Math.max(1, opts.jobs ?? os.availableParallelism());
  const count = listItems(source).filter((it) => shardOf(it.key, opts.of) === opts.shard).length;
  if (jobs === 1 || count <= 1) {
    const s = await runBatchWorker(source, opts);
    (opts.log ?? console.log)(`shard ${s.shard}/${s.of}: ${s.items} item(s), ${s.done} run, ${s.skipped} already done`);
    return { exitCode: runExitCode(s.results) };
  }
  const n = Math.min(jobs, count);
  const procs: ChildProcess[] = [];
  const children = Array.from({ length: n }, (_, k) => new Promise<number>((resolve) => {
    // The child watches this process and exits when it dies (exitWithParent).
    const child = spawn(process.execPath, [BIN, ...argvForChild, '--jobs', '1', '--worker', `${k}/${n}`, '--shard', String(opts.shard), '--of', String(opts.of)], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, REEL2REAL_BATCH_PARENT: String(process.pid) } });
    procs.push(child);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  }));
  // SIGTERM/SIGINT to the parent (a scheduler cancelling the job) stop the workers too, then the parent.
  const forward = (sig: NodeJS.Signals) => {
    for (const c of procs) if (c.exitCode === null) c.kill(sig);
    void Promise.all(children).then(() => process.exit(128 + (sig === 'SIGINT' ? 2 : 15)));
  };
  process.once('SIGTERM', forward);
  process.once('SIGINT', forward);
  const codes = await Promise.all(children);
  process.removeListener('SIGTERM', forward);
  process.removeListener('SIGINT', forward);
  return { exitCode: codes.includes(1) || codes.some((c) => c !== 0 && c !== 3) ? 1 : codes.includes(3) ? 3 : 0 };
}

/**
 * In a batch worker: exit when the parent is gone, however it went (even SIGKILL, which it cannot pass on).
 * A watchdog thread checks the parent every 250 ms and, when this process has been re-parented, sends it
 * SIGTERM: that works while the main thread is busy in a long synchronous solve, where a timer would not run.
 */
async function exitWithParent(): Promise<void> {
  // The parent names itself: by the time this runs (module loading takes seconds) it may already be gone.
  const parent = Number(process.env.REEL2REAL_BATCH_PARENT) || process.ppid;
  if (process.ppid !== parent) process.exit(143);
  const watchdog = new Worker(`setInterval(() => { if (process.ppid !== ${parent}) process.kill(process.pid, 'SIGTERM'); }, 250);`, { eval: true });
  // The thread starts only once this one's event loop turns: wait for it before any long synchronous work
  // (referenced until then, so the wait itself keeps the process alive), then let it not hold the process.
  await new Promise<void>((resolve) => { watchdog.once('online', () => resolve()); watchdog.once('error', () => resolve()); });
  watchdog.unref();
}
