/**
 * Hand landmark model on onnxruntime: one call with a batch of two crops vs two calls of one, per pair
 * (same process, one intra-op thread).   npx tsx benchmarks/capture/ort-batch.ts [handlandmark-full] [--pairs 200]
 */
import * as ort from 'onnxruntime-node';
import { onnxModel } from '../../src/capture/runner.ts';

const args = process.argv.slice(2);
const pi = args.indexOf('--pairs');
const pairs = pi >= 0 ? Number(args[pi + 1]) : 200;
const name = args.find((a, i) => !a.startsWith('--') && i !== pi + 1) ?? 'handlandmark-full';
const outs = ['Identity', 'Identity_1', 'Identity_2', 'Identity_3'];
const opts = { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const };
const m1 = onnxModel(name, outs, 1);
const m2 = onnxModel(name, outs, 2);
const s1 = await ort.InferenceSession.create(m1.bytes, opts);
const s2 = await ort.InferenceSession.create(m2.bytes, opts);
const x = new Float32Array(2 * 224 * 224 * 3).map((_, i) => ((i * 2654435761) % 1000) / 1000);
const one = { [m1.inputName]: new ort.Tensor('float32', x.subarray(0, 224 * 224 * 3), [1, 224, 224, 3]) };
const two = { [m2.inputName]: new ort.Tensor('float32', x, [2, 224, 224, 3]) };
for (let i = 0; i < 10; i++) { await s1.run(one); await s2.run(two); }
const time = async (f: () => Promise<unknown>) => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < pairs; i++) await f();
  const c = process.cpuUsage(c0);
  return [(performance.now() - t0) / pairs, (c.user + c.system) / 1000 / pairs];
};
const [w1, c1] = await time(async () => { await s1.run(one); await s1.run(one); });
const [w2, c2] = await time(() => s2.run(two));
console.log(`${name}: two batch-1 calls ${w1.toFixed(2)} ms wall (${c1.toFixed(2)} CPU) per pair; one batch-2 call ${w2.toFixed(2)} ms wall (${c2.toFixed(2)} CPU); ratio ${(w1 / w2).toFixed(2)}x`);
