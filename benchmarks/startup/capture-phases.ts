/**
 * Where capture's fixed cost goes, phase by phase in one process, on the compiled dist/ (as users run it):
 * probing the video (ffprobe), importing onnxruntime-node, reading each capture model's cached ONNX file, and
 * creating its session (the cached optimised graph when there is one). Wall and CPU (this process only: ffprobe's
 * own CPU is not in it) per phase.
 *
 *   npx tsx benchmarks/startup/capture-phases.ts <video> [checkout dir, default this one]
 */
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../test/helpers/shared.ts';

const video = process.argv[2];
if (!video) throw new Error('usage: capture-phases.ts <video> [checkout dir]');
const root = path.resolve(process.argv[3] ?? PROJECT_ROOT);
const cpu = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
let w0 = performance.now(), c0 = cpu();
const lap = (what: string): void => {
  const w = performance.now(), c = cpu();
  console.log(`${what.padEnd(44)} ${(w - w0).toFixed(0).padStart(6)} ms wall ${(c - c0).toFixed(0).padStart(6)} ms CPU`);
  w0 = w; c0 = c;
};
const runner = await import(path.join(root, 'dist/capture/runner.js'));
const { probeVideo } = await import(path.join(root, 'dist/capture/video.js'));
lap('import dist/capture/runner.js, video.js');
probeVideo(video);
lap('probeVideo (ffprobe)');
const ort = await import('onnxruntime-node');
lap('import onnxruntime-node');
const models: [string, string[] | undefined][] = [
  ['blazepose-detector', undefined], ['blazepose-full', ['Identity_3', 'Identity_2', 'Identity_4']],
  ['handdetect', undefined], ['handlandmark-full', ['Identity', 'Identity_1', 'Identity_2', 'Identity_3']],
];
for (const [name, outputs] of models) {
  const m = runner.onnxModel(name, outputs, 1);
  lap(`model ${name} (${(m.bytes.length / 1e6).toFixed(1)} MB)`);
  if (runner.createSession) await runner.createSession(ort, m.bytes, runner.optimizedModelFile(m.file, ort.env.versions.common));
  else await ort.InferenceSession.create(m.bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential', enableCpuMemArena: false });
  lap(`session ${name}`);
}
