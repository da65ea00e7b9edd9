/**
 * The onnxruntime backend: every capture model converted from its TF.js graph model gives the same outputs as
 * TF.js (wasm) on real crops; the conversion cache; backend choice through the CLI. And the ONNX serialisation
 * (protobufjs with onnx.proto, src/capture/onnx/proto.ts) writes, for every capture model, the very bytes the
 * project's former hand-written writer wrote (kept as the oracle in onnx-legacy-proto.ts), decodes back to the
 * converter's graph, and runs to the same outputs on real crops.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, loadGraphModel, tf } from '../../src/capture/models.ts';
import { convertTfjsGraph, convertTfjsModel, type ConvertedGraph } from '../../src/capture/onnx/convert.ts';
import { decodeModel, encodeModel, type GraphSpec } from '../../src/capture/onnx/proto.ts';
import { legacyEncodeModel } from './onnx-legacy-proto.ts';
import { createSession, onnxModel, onnxModelEntry, optimizedModelFile, readTfjsModel } from '../../src/capture/runner.ts';
import { runCli } from '../helpers/cli.ts';
import { describeShared, shared } from '../helpers/shared.ts';
import { tmpDir } from './clips.ts';

const HAND = 'videos/dex_retargeting_human_hand_video.mp4';
const SQUATS = 'videos/tfjs_pose_squats.mp4';

/** A square crop of a real frame, resized to size×size, values in [lo, hi] (RGB, NHWC). */
function crop(video: string, at: number, box: string, size: number, lo: number, hi: number): Float32Array {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-ss', String(at), '-i', shared(video), '-frames:v', '1', '-vf', `crop=${box},scale=${size}:${size}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 26 });
  expect(raw.length).toBe(size * size * 3);
  return Float32Array.from(raw, (b) => lo + (b / 255) * (hi - lo));
}

async function session(bytes: Uint8Array) {
  return ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
}

/** Largest |a - b| over the largest |a|. */
function relDiff(a: Float32Array, b: Float32Array): number {
  expect(b.length).toBe(a.length);
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(a[i]));
  }
  return d / m;
}

// Model, crop (video, time, ffmpeg crop box), input side, value range, outputs capture reads.
const CASES: [string, string, number, string, number, [number, number], string[] | undefined][] = [
  ['handlandmark-full', HAND, 3, '600:600:340:60', 224, [0, 1], ['Identity', 'Identity_1', 'Identity_2', 'Identity_3']],
  ['handlandmark-lite', HAND, 5, '600:600:340:60', 224, [0, 1], ['Identity', 'Identity_1', 'Identity_2', 'Identity_3']],
  ['blazepose-full', SQUATS, 2, '720:720:0:400', 256, [0, 1], ['Identity_3', 'Identity_2', 'Identity_4']],
  ['blazepose-lite', SQUATS, 6, '720:720:0:400', 256, [0, 1], ['Identity_3', 'Identity_2', 'Identity_4']],
  ['blazepose-detector', SQUATS, 4, '720:720:0:280', 224, [-1, 1], undefined],
  ['handdetect', HAND, 2, '720:720:280:0', 256, [-1, 1], undefined],
];

// Outputs agree to ~1e-6 of their range (float rounding, different kernels). A wrong layout, padding or
// fused op moves them by far more than 1e-3 (checked below with a transposed input).
const TOLERANCE = 1e-3;

/** Each capture model's graph as the converter builds it (batch 1, capture's outputs), converted once per file. */
const graphs = new Map<string, ConvertedGraph>();
function graphOf(name: string, outputs: string[] | undefined, batch = 1): ConvertedGraph {
  const key = `${name}:${batch}`;
  if (!graphs.has(key)) {
    const { json, weights } = readTfjsModel(name);
    graphs.set(key, convertTfjsGraph(json, weights, { outputs, batch }));
  }
  return graphs.get(key)!;
}

describe('ONNX serialisation with protobufjs and onnx.proto', () => {
  for (const [name, , , , , , outputs] of CASES) {
    it(`${name}: the same bytes as the former hand-written writer, batch 1 and 2`, () => {
      for (const batch of [1, 2]) {
        const { graph } = graphOf(name, outputs, batch);
        const bytes = encodeModel(graph);
        const legacy = legacyEncodeModel(graph);
        expect(bytes.length).toBeGreaterThan(100_000); // the weights are in it
        expect(Buffer.from(bytes).equals(Buffer.from(legacy))).toBe(true);
      }
    });
  }

  it('a model decodes back to the graph it was built from', () => {
    const { graph } = graphOf('blazepose-detector', undefined);
    const m = decodeModel(encodeModel(graph, 13, 'test')) as any;
    expect(m.ir_version).toBe(7);
    expect(m.producer_name).toBe('test');
    expect(m.opset_import).toEqual([{ domain: '', version: 13 }]);
    const g = m.graph;
    expect(g.name).toBe(graph.name);
    expect(g.node.map((n: any) => [n.op_type, n.name, n.input, n.output])).toEqual(graph.nodes.map((n) => [n.op, n.name, n.inputs, n.outputs]));
    // Attributes of every kind the converter writes, with their values.
    const kinds = new Set<number>();
    graph.nodes.forEach((n, i) => {
      const attrs = g.node[i].attribute ?? [];
      expect(attrs.map((a: any) => a.name)).toEqual(Object.keys(n.attrs ?? {}));
      Object.values(n.attrs ?? {}).forEach((v, k) => {
        const a = attrs[k];
        kinds.add(a.type);
        if (typeof v === 'number') expect(a.i).toBe(v);
        else if (typeof v === 'string') expect(Buffer.from(a.s).toString()).toBe(v);
        else if (Array.isArray(v)) expect(a.ints).toEqual(v);
        else if ('float' in v) expect(a.f).toBe(Math.fround(v.float));
        else expect(a.floats).toEqual(v.floats.map(Math.fround));
      });
    });
    expect(kinds.size).toBeGreaterThanOrEqual(2);
    expect(g.initializer.length).toBe(graph.initializers.length);
    graph.initializers.forEach((t, i) => {
      const d = g.initializer[i];
      expect([d.name, d.data_type, d.dims ?? []]).toEqual([t.name, t.type, t.dims]);
      expect(Buffer.from(d.raw_data).equals(Buffer.from(t.raw))).toBe(true);
    });
    const shape = (v: any) => v.type.tensor_type.shape.dim.map((d: any) => d.dim_value ?? d.dim_param);
    expect(g.input.map((v: any) => [v.name, v.type.tensor_type.elem_type, shape(v)])).toEqual(graph.inputs.map((v) => [v.name, v.type, v.dims]));
    expect(g.output.map((v: any) => [v.name, shape(v)])).toEqual(graph.outputs.map((v) => [v.name, v.dims]));
  });

  it('a symbolic dimension, negative ints and a string attribute round-trip as the schema says', () => {
    const graph: GraphSpec = {
      name: 'g', initializers: [],
      nodes: [{ op: 'Pad', name: 'p', inputs: ['x'], outputs: ['y'], attrs: { mode: 'reflect', axes: [-1, 3], axis: -2, alpha: { float: 0.5 }, scales: { floats: [1.5, -2] } } }],
      inputs: [{ name: 'x', type: 1, dims: [null, 4] }], outputs: [{ name: 'y', type: 1, dims: [null, 4] }],
    };
    const bytes = encodeModel(graph);
    expect(Buffer.from(bytes).equals(Buffer.from(legacyEncodeModel(graph)))).toBe(true);
    const a = (decodeModel(bytes) as any).graph.node[0].attribute;
    expect(a.map((x: any) => x.name)).toEqual(['mode', 'axes', 'axis', 'alpha', 'scales']);
    expect([Buffer.from(a[0].s).toString(), a[1].ints, a[2].i, a[3].f, a[4].floats]).toEqual(['reflect', [-1, 3], -2, 0.5, [1.5, -2]]);
    expect((decodeModel(bytes) as any).graph.input[0].type.tensor_type.shape.dim).toEqual([{ dim_param: 'N' }, { dim_value: 4 }]);
    expect(() => encodeModel({ ...graph, nodes: [{ ...graph.nodes[0], attrs: { k: 0.5 } }] })).toThrow(/use \{float\}/);
  });
});

describeShared('onnxruntime backend', [HAND, SQUATS], () => {
  let dir = '';
  beforeAll(async () => {
    dir = tmpDir();
    expect(await initBackend('wasm')).toBe('wasm');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [name, video, at, box, size, [lo, hi], outputs] of CASES) {
    it(`${name}: onnxruntime and TF.js wasm agree on a real crop`, async () => {
      const input = crop(video, at, box, size, lo, hi);
      const { json, weights } = readTfjsModel(name);
      const conv = convertTfjsModel(json, weights, { outputs });
      expect(conv.inputShape).toEqual([1, size, size, 3]);
      const s = await session(conv.bytes);
      const r = await s.run({ [conv.inputName]: new ort.Tensor('float32', input, conv.inputShape) });
      const model = await loadGraphModel(name);
      const ref = tf.tidy(() => {
        const x = tf.tensor4d(input, [1, size, size, 3]);
        const o = outputs ? model.execute(x, outputs) : model.execute(x);
        return (Array.isArray(o) ? o : [o]).map((t) => t.dataSync() as Float32Array);
      });
      expect(conv.outputs.length).toBe(ref.length);
      const diffs = conv.outputs.map((o, k) => relDiff(ref[k], r[o.name].data as Float32Array));
      console.log(`${name}: max relative difference per output ${diffs.map((d) => d.toExponential(1)).join(', ')}`);
      for (const d of diffs) expect(d).toBeLessThan(TOLERANCE);
      if (name === 'handlandmark-full') {
        // The comparison is sensitive: the same crop transposed (x ↔ y) gives different landmarks.
        const t = new Float32Array(input.length);
        for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) for (let c = 0; c < 3; c++) t[3 * (x * size + y) + c] = input[3 * (y * size + x) + c];
        const rt = await s.run({ [conv.inputName]: new ort.Tensor('float32', t, conv.inputShape) });
        expect(relDiff(ref[0], rt.Identity.data as Float32Array)).toBeGreaterThan(100 * TOLERANCE);
        // The hand is there, as the model sees it.
        expect(ref[1][0]).toBeGreaterThan(0.5);
      }
      await s.release();
      model.dispose();
    }, 60_000);
  }

  it('every model written by protobufjs runs to exactly the outputs of the former writer\'s bytes on a real crop', async () => {
    for (const [name, video, at, box, size, [lo, hi], outputs] of CASES) {
      const input = crop(video, at, box, size, lo, hi);
      const { graph, inputName, inputShape } = graphOf(name, outputs);
      const results = [];
      for (const bytes of [encodeModel(graph), legacyEncodeModel(graph)]) {
        const s = await session(bytes);
        const r = await s.run({ [inputName]: new ort.Tensor('float32', input, inputShape) });
        results.push(graph.outputs.map((o) => Array.from(r[o.name].data as Float32Array)));
        await s.release();
      }
      expect(results[0].length).toBe(graph.outputs.length);
      expect(results[0].flat().some((v) => v !== 0)).toBe(true);
      expect(results[0]).toEqual(results[1]);
    }
  }, 120_000);

  it('converted models are cached (keyed by model.json and each weight file\'s size and mtime) and rebuilt when the cache entry is damaged', () => {
    const prev = process.env.REEL2REAL_CACHE_DIR;
    process.env.REEL2REAL_CACHE_DIR = dir;
    try {
      const outs = ['Identity', 'Identity_1', 'Identity_2', 'Identity_3'];
      const a = onnxModel('handlandmark-lite', outs, 1);
      const files = fs.readdirSync(path.join(dir, 'onnx')).sort();
      expect(files.length).toBe(2);
      expect(files[1]).toMatch(/^handlandmark-lite-[0-9a-f]{24}\.onnx$/);
      expect(fs.readFileSync(path.join(dir, 'onnx', files[1])).equals(Buffer.from(a.bytes))).toBe(true);
      // A cache hit does not read the model file (a session from the optimised graph does not need it).
      const hit = onnxModelEntry('handlandmark-lite', outs, 1);
      expect(hit.bytes).toBe(null);
      expect(hit.file).toBe(path.join(dir, 'onnx', files[1]));
      expect(hit.outputs).toEqual(outs);
      // A different batch is a different model and a different entry.
      onnxModel('handlandmark-lite', outs, 2);
      expect(fs.readdirSync(path.join(dir, 'onnx')).length).toBe(4);
      // Served from the cache: the same bytes even when the cached file is what differs from a fresh conversion.
      const onnxPath = path.join(dir, 'onnx', files[1]);
      const marked = Buffer.concat([Buffer.from(a.bytes), Buffer.from([0x0a, 0x00])]); // an empty field 1 appended
      fs.writeFileSync(onnxPath, marked);
      expect(Buffer.from(onnxModel('handlandmark-lite', outs, 1).bytes).equals(marked)).toBe(true);
      // Damaged metadata: converted again and rewritten.
      fs.writeFileSync(path.join(dir, 'onnx', files[0]), '{');
      const c = onnxModel('handlandmark-lite', outs, 1);
      expect(Buffer.from(c.bytes).equals(Buffer.from(a.bytes))).toBe(true);
      expect(fs.readFileSync(onnxPath).equals(Buffer.from(a.bytes))).toBe(true);
      expect(c.outputs).toEqual(outs);
    } finally {
      if (prev === undefined) delete process.env.REEL2REAL_CACHE_DIR;
      else process.env.REEL2REAL_CACHE_DIR = prev;
    }
  }, 60_000);

  it('onnxruntime\'s optimised graph, cached for this machine, gives the same outputs to the bit as optimising the model again', async () => {
    for (const [name, video, at, box, size, [lo, hi], outs] of [CASES[0], CASES[4]]) {
      const conv = convertTfjsModel(readTfjsModel(name).json, readTfjsModel(name).weights, { outputs: outs });
      const file = path.join(dir, `${name}-opt-test.onnx`);
      const optFile = optimizedModelFile(file, ort.env.versions.common);
      fs.rmSync(optFile, { force: true });
      const fresh = await createSession(ort, conv.bytes, optFile); // optimises and writes the graph
      expect(fs.existsSync(optFile)).toBe(true);
      // In onnxruntime's own format (flatbuffer identifier ORTM), which the cached session uses in place.
      expect(fs.readFileSync(optFile).subarray(4, 8).toString('latin1')).toBe('ORTM');
      const cached = await createSession(ort, conv.bytes, optFile); // loads it
      // From the cached graph the model's own bytes are never asked for.
      await expect(createSession(ort, () => { throw new Error('model read'); }, optFile)).resolves.toBeDefined();
      const input = crop(video, at, box, size, lo, hi);
      const feed = () => ({ [conv.inputName]: new ort.Tensor('float32', input, [1, size, size, 3]) });
      const [ra, rb, rc] = [await fresh.run(feed()), await cached.run(feed()), await (await session(conv.bytes)).run(feed())];
      for (const o of conv.outputs) {
        const a = ra[o.name].data as Float32Array;
        expect(Buffer.from((rb[o.name].data as Float32Array).buffer).equals(Buffer.from(a.buffer)), `${name} ${o.name}`).toBe(true);
        expect(Buffer.from((rc[o.name].data as Float32Array).buffer).equals(Buffer.from(a.buffer)), `${name} ${o.name}`).toBe(true);
      }
      // A damaged cached graph is optimised again and rewritten.
      fs.writeFileSync(optFile, 'not a model');
      const again = await createSession(ort, conv.bytes, optFile);
      expect(Buffer.from(((await again.run(feed()))[conv.outputs[0].name].data as Float32Array).buffer).equals(Buffer.from((ra[conv.outputs[0].name].data as Float32Array).buffer))).toBe(true);
      expect(fs.statSync(optFile).size).toBeGreaterThan(1000);
    }
  }, 120_000);

  it('a batch of two crops gives each crop\'s own outputs', async () => {
    const a = crop(HAND, 3, '600:600:340:60', 224, 0, 1);
    const b = crop(HAND, 7, '500:500:390:100', 224, 0, 1);
    const { json, weights } = readTfjsModel('handlandmark-lite');
    const one = await session(convertTfjsModel(json, weights, { outputs: ['Identity'] }).bytes);
    const two = await session(convertTfjsModel(json, weights, { outputs: ['Identity'], batch: 2 }).bytes);
    const both = new Float32Array(2 * a.length);
    both.set(a);
    both.set(b, a.length);
    const rb = (await two.run({ input_1: new ort.Tensor('float32', both, [2, 224, 224, 3]) })).Identity.data as Float32Array;
    const ra = (await one.run({ input_1: new ort.Tensor('float32', a, [1, 224, 224, 3]) })).Identity.data as Float32Array;
    const rbb = (await one.run({ input_1: new ort.Tensor('float32', b, [1, 224, 224, 3]) })).Identity.data as Float32Array;
    expect(relDiff(ra, rb.subarray(0, 63))).toBeLessThan(1e-5);
    expect(relDiff(rbb, rb.subarray(63))).toBeLessThan(1e-5);
    expect(relDiff(ra, rbb)).toBeGreaterThan(1e-2);
  }, 60_000);

  it('the CLI reports the backend it used and rejects an unknown one', async () => {
    const out = path.join(dir, 'hand.npz');
    const r = await runCli(['capture', shared(HAND), '--hands', '--max-frames', '10', '--out', out, '--json'], { env: { REEL2REAL_TF_BACKEND: 'onnxruntime' } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).backend).toBe('onnxruntime');
    const bad = await runCli(['capture', shared(HAND), '--hands', '--max-frames', '10', '--out', path.join(dir, 'x.npz')], { env: { REEL2REAL_TF_BACKEND: 'tpu' } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown backend 'tpu'/);
    expect(fs.existsSync(path.join(dir, 'x.npz'))).toBe(false);
  }, 60_000);
});
