/**
 * ONNX Runtime vs TF.js wasm, per model: convert the TF.js graph model, run both on the same real crop,
 * compare every output and time the calls (same process, one thread each).
 *   npx tsx benchmarks/capture/ort-check.ts [model ...] [--calls 30]
 */
import { execFileSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { tf, loadGraphModel, initBackend } from '../../src/capture/models.ts';
import { readTfjsModel } from '../../src/capture/runner.ts';
import { convertTfjsModel } from '../../src/capture/onnx/convert.ts';

const VIDEO = '../shared/data/videos/dex_retargeting_human_hand_video.mp4';
const args = process.argv.slice(2);
const ci = args.indexOf('--calls');
const calls = ci >= 0 ? Number(args[ci + 1]) : 30;
const names = args.filter((a, i) => !a.startsWith('--') && (ci < 0 || i !== ci + 1));
const SPECS: Record<string, { size: number; outputs?: string[]; range: [number, number] }> = {
  'handlandmark-full': { size: 224, outputs: ['Identity', 'Identity_1', 'Identity_2', 'Identity_3'], range: [0, 1] },
  'handlandmark-lite': { size: 224, outputs: ['Identity', 'Identity_1', 'Identity_2', 'Identity_3'], range: [0, 1] },
  'blazepose-full': { size: 256, outputs: ['Identity_3', 'Identity_2', 'Identity_4'], range: [0, 1] },
  'blazepose-lite': { size: 256, outputs: ['Identity_3', 'Identity_2', 'Identity_4'], range: [0, 1] },
  'blazepose-detector': { size: 224, range: [-1, 1] },
  handdetect: { size: 256, range: [-1, 1] },
};

function crop(size: number, [lo, hi]: [number, number]): Float32Array {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-ss', '3', '-i', VIDEO, '-frames:v', '1', '-vf', `crop=600:600:340:60,scale=${size}:${size}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 26 });
  return Float32Array.from(raw, (b) => lo + (b / 255) * (hi - lo));
}

const backend = await initBackend('wasm');
console.log(`tfjs backend ${backend}; onnxruntime-node ${ort.env.versions.node}; calls ${calls}`);
const rows: string[] = [];
for (const name of names.length ? names : Object.keys(SPECS)) {
  const spec = SPECS[name];
  const { json, weights } = readTfjsModel(name);
  let t0 = performance.now();
  const conv = convertTfjsModel(json, weights, { outputs: spec.outputs });
  const convMs = performance.now() - t0;
  const session = await ort.InferenceSession.create(conv.bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
  const input = crop(spec.size, spec.range);
  const model = await loadGraphModel(name);
  const outNames = conv.outputs.map((o) => o.name);
  const runTf = () => tf.tidy(() => {
    const r = model.execute(tf.tensor4d(input, [1, spec.size, spec.size, 3]), spec.outputs ?? model.outputs.map((o) => o.name.split(':')[0]));
    return (Array.isArray(r) ? r : [r]).map((t) => t.dataSync() as Float32Array);
  });
  const feeds = { [conv.inputName]: new ort.Tensor('float32', input, conv.inputShape) };
  const runOrt = async () => { const r = await session.run(feeds); return outNames.map((n) => r[n].data as Float32Array); };
  const a = runTf();
  const b = await runOrt();
  for (let k = 0; k < outNames.length; k++) {
    let maxAbs = 0;
    let maxRef = 0;
    for (let i = 0; i < a[k].length; i++) { maxAbs = Math.max(maxAbs, Math.abs(a[k][i] - b[k][i])); maxRef = Math.max(maxRef, Math.abs(a[k][i])); }
    console.log(`${name} ${outNames[k]} [${conv.outputs[k].shape}] n=${a[k].length}/${b[k].length} max|diff| ${maxAbs.toExponential(2)} (max|ref| ${maxRef.toPrecision(4)}, rel ${(maxAbs / maxRef).toExponential(2)})`);
  }
  for (let i = 0; i < 3; i++) { runTf(); await runOrt(); }
  const cpu0 = process.cpuUsage();
  t0 = performance.now();
  for (let i = 0; i < calls; i++) runTf();
  const tfMs = (performance.now() - t0) / calls;
  const cpu1 = process.cpuUsage(cpu0);
  const cpu2 = process.cpuUsage();
  t0 = performance.now();
  for (let i = 0; i < calls; i++) await runOrt();
  const ortMs = (performance.now() - t0) / calls;
  const cpu3 = process.cpuUsage(cpu2);
  const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000 / calls;
  const line = `| ${name} | ${(conv.bytes.length / 1e6).toFixed(1)} MB, ${convMs.toFixed(0)} ms | ${tfMs.toFixed(1)} (${cpuMs(cpu1).toFixed(1)} CPU) | ${ortMs.toFixed(1)} (${cpuMs(cpu3).toFixed(1)} CPU) | ${(tfMs / ortMs).toFixed(2)}× |`;
  console.log(line);
  rows.push(line);
  await session.release();
}
console.log('| model | onnx size, conversion | wasm ms/call wall (CPU) | onnxruntime ms/call wall (CPU) | speed-up |\n|---|---|---|---|---|');
console.log(rows.join('\n'));
