/**
 * Convert a TF.js graph model (model.json topology + weight bytes, as stored on disk) into an ONNX model, for
 * running the same MediaPipe networks in onnxruntime. Shapes are static (the batch is fixed at conversion), so
 * shape arithmetic in the graph (Shape → StridedSlice → Pack → Reshape) folds into constants.
 *
 * Layout: TF tensors are NHWC. Convolution-like ops produce NCHW tensors (ONNX's layout) and 4-D tensors stay
 * NCHW through element-wise ops; a transpose back to NHWC is inserted only where the order of elements matters
 * (Reshape, outputs, reductions that mix channel and space). Every value carries its TF (NHWC) shape and a flag
 * saying whether its ONNX tensor is the NCHW permutation of it.
 */
import { DataType, encodeModel, type AttrValue, type GraphSpec, type NodeSpec, type TensorInit, type ValueSpec } from './proto.ts';

export interface TfjsNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, any>;
}

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

export interface TfjsModel {
  modelTopology: { node: TfjsNode[] };
  weightsManifest: { paths: string[]; weights: TfjsWeightSpec[] }[];
  signature?: { outputs?: Record<string, { name: string }> };
}

export interface ConvertOptions {
  /** TF node names to output (default: the signature's outputs). Only what they need is converted. */
  outputs?: string[];
  /** Batch size the model is built for (default 1). */
  batch?: number;
}

export interface ConvertedGraph {
  /** The ONNX graph, before serialisation (proto.ts encodes it). */
  graph: GraphSpec;
  inputName: string;
  /** NHWC input shape. */
  inputShape: number[];
  /** ONNX output names (= the TF node names), with their NHWC shapes. */
  outputs: { name: string; shape: number[] }[];
}

export interface ConvertedModel extends Omit<ConvertedGraph, 'graph'> {
  /** Serialised ModelProto. */
  bytes: Uint8Array;
}

type ConstData = Float32Array | Int32Array;

interface Val {
  /** ONNX value name (absent for a constant not emitted yet). */
  name: string;
  /** TF (NHWC) shape. */
  shape: number[];
  /** The ONNX tensor is the NCHW permutation of this 4-D value. */
  nchw: boolean;
  /** Constant contents, in TF layout. */
  data?: ConstData;
}

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Decode the weight shards into named constants (float16 / affine-quantised weights become float32). */
export function decodeWeights(model: TfjsModel, data: Uint8Array): Map<string, { shape: number[]; data: ConstData }> {
  const out = new Map<string, { shape: number[]; data: ConstData }>();
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let off = 0;
  for (const group of model.weightsManifest) {
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const q = w.quantization;
      let values: ConstData;
      if (w.dtype === 'int32' && !q) {
        values = new Int32Array(n);
        for (let i = 0; i < n; i++) values[i] = view.getInt32(off + 4 * i, true);
        off += 4 * n;
      } else if (w.dtype === 'float32' && !q) {
        values = new Float32Array(n);
        for (let i = 0; i < n; i++) values[i] = view.getFloat32(off + 4 * i, true);
        off += 4 * n;
      } else if (w.dtype === 'float32' && q?.dtype === 'float16') {
        values = new Float32Array(n);
        for (let i = 0; i < n; i++) values[i] = f16ToF32(view.getUint16(off + 2 * i, true));
        off += 2 * n;
      } else if (q && (q.dtype === 'uint8' || q.dtype === 'uint16') && q.scale !== undefined && q.min !== undefined) {
        const bytes = q.dtype === 'uint8' ? 1 : 2;
        const f = new Float32Array(n);
        for (let i = 0; i < n; i++) f[i] = (bytes === 1 ? view.getUint8(off + i) : view.getUint16(off + 2 * i, true)) * q.scale + q.min;
        values = w.dtype === 'int32' ? Int32Array.from(f, Math.round) : f;
        off += bytes * n;
      } else {
        throw new Error(`weight ${w.name}: unsupported dtype ${w.dtype}${q ? ` (quantised ${q.dtype})` : ''}`);
      }
      out.set(w.name, { shape: w.shape, data: values });
    }
  }
  if (off !== data.byteLength) throw new Error(`weights: manifest describes ${off} bytes, shards hold ${data.byteLength}`);
  return out;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Permute a constant's data: out axis k is in axis perm[k]. */
function permute(data: ConstData, shape: number[], perm: number[]): ConstData {
  const r = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const inStride = new Array(r).fill(1);
  for (let k = r - 2; k >= 0; k--) inStride[k] = inStride[k + 1] * shape[k + 1];
  const out = new (data.constructor as any)(data.length) as ConstData;
  const idx = new Array(r).fill(0);
  for (let o = 0; o < data.length; o++) {
    let src = 0;
    for (let k = 0; k < r; k++) src += idx[k] * inStride[perm[k]];
    out[o] = data[src];
    for (let k = r - 1; k >= 0; k--) {
      if (++idx[k] < outShape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

function broadcast(a: number[], b: number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let k = 0; k < r; k++) {
    const x = a[a.length - r + k] ?? 1;
    const y = b[b.length - r + k] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`shapes [${a}] and [${b}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

function attrStr(n: TfjsNode, key: string): string | undefined {
  const s = n.attr?.[key]?.s;
  return s === undefined ? undefined : Buffer.from(s, 'base64').toString('latin1');
}
function attrInts(n: TfjsNode, key: string): number[] | undefined {
  const l = n.attr?.[key]?.list?.i;
  return l ? l.map(Number) : undefined;
}
function attrInt(n: TfjsNode, key: string, def: number): number {
  const v = n.attr?.[key]?.i;
  return v === undefined ? def : Number(v);
}
function attrBool(n: TfjsNode, key: string): boolean {
  return Boolean(n.attr?.[key]?.b);
}
function attrFloat(n: TfjsNode, key: string, def: number): number {
  const v = n.attr?.[key]?.f;
  return v === undefined ? def : Number(v);
}
function fusedOps(n: TfjsNode): string[] {
  return (n.attr?.fused_ops?.list?.s ?? []).map((s: string) => Buffer.from(s, 'base64').toString('latin1'));
}

/** TF 'SAME' / 'VALID' padding along one spatial axis: [output size, pad before, pad after]. */
function spatial(inSize: number, k: number, s: number, d: number, padding: string): [number, number, number] {
  const ek = (k - 1) * d + 1;
  if (padding === 'VALID') return [Math.floor((inSize - ek) / s) + 1, 0, 0];
  if (padding !== 'SAME') throw new Error(`padding ${padding} is not supported`);
  const out = Math.ceil(inSize / s);
  const total = Math.max((out - 1) * s + ek - inSize, 0);
  return [out, Math.floor(total / 2), total - Math.floor(total / 2)];
}

class Converter {
  private nodes: NodeSpec[] = [];
  private inits: TensorInit[] = [];
  private vals = new Map<string, Val>();
  private byName = new Map<string, TfjsNode>();
  private counter = 0;
  inputName = '';
  inputShape: number[] = [];

  constructor(model: TfjsModel, private weights: Map<string, { shape: number[]; data: ConstData }>, private batch: number) {
    for (const n of model.modelTopology.node) this.byName.set(n.name, n);
  }

  private fresh(base: string): string {
    return `${base}__${this.counter++}`;
  }

  private emit(op: string, inputs: string[], attrs?: Record<string, AttrValue>, base = op): string {
    const out = this.fresh(base);
    this.nodes.push({ op, inputs, outputs: [out], name: out, attrs });
    return out;
  }

  /** An initializer from raw values. */
  private init(data: ConstData | number[], dims: number[], type: DataType, base = 'const'): string {
    const name = this.fresh(base);
    let raw: Uint8Array;
    if (type === DataType.INT64) {
      const b = new BigInt64Array(data.length);
      for (let i = 0; i < data.length; i++) b[i] = BigInt(data[i]);
      raw = new Uint8Array(b.buffer);
    } else if (type === DataType.FLOAT) {
      raw = new Uint8Array(Float32Array.from(data as ArrayLike<number>).buffer);
    } else {
      raw = new Uint8Array(Int32Array.from(data as ArrayLike<number>).buffer);
    }
    this.inits.push({ name, dims, type, raw });
    return name;
  }

  private ints64(values: number[], base = 'ints'): string {
    return this.init(values, [values.length], DataType.INT64, base);
  }

  private scalar(v: number): string {
    return this.init([v], [], DataType.FLOAT, 'scalar');
  }

  /** ONNX name of `v` in TF (NHWC) layout. */
  private asTf(v: Val): string {
    if (v.data) return this.constName(v, false);
    if (!v.nchw) return v.name;
    return this.emit('Transpose', [v.name], { perm: TO_NHWC }, 'to_nhwc');
  }

  /** ONNX name of 4-D `v` in NCHW layout. */
  private asNchw(v: Val): string {
    if (v.shape.length !== 4) throw new Error(`expected a 4-D tensor, got [${v.shape}]`);
    if (v.data) return this.constName(v, true);
    if (v.nchw) return v.name;
    return this.emit('Transpose', [v.name], { perm: TO_NCHW }, 'to_nchw');
  }

  /** A constant as an initializer; `nchw`: broadcast to rank 4 and permute to NCHW. */
  private constName(v: Val, nchw: boolean): string {
    let data = v.data!;
    let shape = v.shape;
    if (nchw) {
      while (shape.length < 4) shape = [1, ...shape];
      data = permute(data, shape, TO_NCHW);
      shape = TO_NCHW.map((p) => shape[p]);
    }
    return this.init(data, shape, data instanceof Int32Array ? DataType.INT32 : DataType.FLOAT, 'w');
  }

  private constOf(name: string): ConstData {
    const v = this.value(name);
    if (!v.data) throw new Error(`${name}: expected a constant`);
    return v.data;
  }

  /** The converted value of TF tensor `ref` ("node" or "node:k"). */
  value(ref: string): Val {
    const [nodeName, idx] = ref.split(':');
    if (idx && idx !== '0') throw new Error(`${ref}: multi-output nodes are not supported`);
    let v = this.vals.get(nodeName);
    if (!v) {
      const node = this.byName.get(nodeName);
      if (!node) throw new Error(`node ${nodeName} not found`);
      v = this.convert(node);
      this.vals.set(nodeName, v);
    }
    return v;
  }

  private activation(op: string, x: string, n: TfjsNode, alpha?: Val, nchw = true): string {
    switch (op) {
      case 'Relu':
        return this.emit('Relu', [x]);
      case 'Relu6':
        return this.emit('Clip', [x, this.scalar(0), this.scalar(6)], undefined, 'Relu6');
      case 'Sigmoid':
        return this.emit('Sigmoid', [x]);
      case 'Elu':
        return this.emit('Elu', [x], { alpha: { float: 1 } });
      case 'LeakyRelu':
        return this.emit('LeakyRelu', [x], { alpha: { float: attrFloat(n, 'leakyrelu_alpha', 0.2) } });
      case 'Prelu':
        if (!alpha) throw new Error(`${n.name}: Prelu without alpha`);
        return this.emit('PRelu', [x, nchw ? this.asNchw4(alpha) : this.asTf(alpha)]);
      default:
        throw new Error(`${n.name}: fused op ${op} is not supported`);
    }
  }

  /** A constant broadcast to rank 4 in NCHW, or a 4-D activation in NCHW. */
  private asNchw4(v: Val): string {
    if (v.data) return this.constName(v, true);
    return this.asNchw(v);
  }

  /** Bias + activation fused into a conv / matmul node (TF's _Fused* ops). */
  private fusedTail(n: TfjsNode, x: string, args: Val[], nchw: boolean): { out: string; bias?: Val } {
    const ops = fusedOps(n);
    let bias: Val | undefined;
    let k = 0;
    let out = x;
    for (const op of ops) {
      if (op === 'BiasAdd') {
        bias = args[k++];
      } else {
        out = this.activation(op, out, n, op === 'Prelu' ? args[k++] : undefined, nchw);
      }
    }
    return { out, bias };
  }

  private convert(n: TfjsNode): Val {
    const ins = n.input ?? [];
    const inp = (i: number) => this.value(ins[i]);
    switch (n.op) {
      case 'Const': {
        const w = this.weights.get(n.name);
        if (!w) throw new Error(`constant ${n.name} has no weights`);
        return { name: '', shape: w.shape, nchw: false, data: w.data };
      }
      case 'Placeholder': {
        const dims = (n.attr?.shape?.shape?.dim ?? []).map((d: { size: string }) => Number(d.size));
        // The batch dimension is the one asked for (models stored with batch 1 are batch-agnostic convolutions).
        const shape = dims.map((d: number, k: number) => (k === 0 ? this.batch : d));
        if (shape.some((d: number) => !(d > 0))) throw new Error(`input ${n.name}: shape [${dims}] is not static`);
        this.inputName = n.name;
        this.inputShape = shape;
        return { name: n.name, shape, nchw: false };
      }
      case 'Identity':
        return inp(0);
      case 'Conv2D':
      case '_FusedConv2D':
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2dNative':
        return this.conv(n);
      case 'Conv2DBackpropInput':
        return this.convTranspose(n);
      case 'MaxPool':
      case 'AvgPool': {
        const x = inp(0);
        const k = attrInts(n, 'ksize')!;
        const s = attrInts(n, 'strides')!;
        const pad = attrStr(n, 'padding')!;
        const [oh, hb, he] = spatial(x.shape[1], k[1], s[1], 1, pad);
        const [ow, wb, we] = spatial(x.shape[2], k[2], s[2], 1, pad);
        const attrs: Record<string, AttrValue> = { kernel_shape: [k[1], k[2]], strides: [s[1], s[2]], pads: [hb, wb, he, we] };
        // TF's AvgPool averages over the valid (unpadded) elements only.
        if (n.op === 'AvgPool') attrs.count_include_pad = 0;
        const name = this.emit(n.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [this.asNchw(x)], attrs);
        return { name, shape: [x.shape[0], oh, ow, x.shape[3]], nchw: true };
      }
      case 'Pad':
      case 'PadV2': {
        const x = inp(0);
        const p = Array.from(this.constOf(ins[1]));
        const r = x.shape.length;
        const value = n.op === 'PadV2' ? this.constOf(ins[2])[0] : 0;
        const nchw = r === 4;
        const order = nchw ? TO_NCHW : [...Array(r).keys()];
        const pads = [...order.map((a) => p[2 * a]), ...order.map((a) => p[2 * a + 1])];
        const name = this.emit('Pad', [nchw ? this.asNchw(x) : this.asTf(x), this.ints64(pads, 'pads'), this.scalar(value)], { mode: 'constant' });
        return { name, shape: x.shape.map((d, a) => d + p[2 * a] + p[2 * a + 1]), nchw };
      }
      case 'ResizeBilinear':
      case 'ResizeNearestNeighbor': {
        const x = inp(0);
        const [h, w] = Array.from(this.constOf(ins[1]));
        const align = attrBool(n, 'align_corners');
        const half = attrBool(n, 'half_pixel_centers');
        const bilinear = n.op === 'ResizeBilinear';
        const attrs: Record<string, AttrValue> = {
          mode: bilinear ? 'linear' : 'nearest',
          coordinate_transformation_mode: align ? 'align_corners' : half ? (bilinear ? 'half_pixel' : 'tf_half_pixel_for_nn') : 'asymmetric',
        };
        if (!bilinear) attrs.nearest_mode = align ? 'round_prefer_ceil' : 'floor';
        const sizes = this.ints64([x.shape[0], x.shape[3], h, w], 'sizes');
        const name = this.emit('Resize', [this.asNchw(x), '', '', sizes], attrs);
        return { name, shape: [x.shape[0], h, w, x.shape[3]], nchw: true };
      }
      case 'DepthToSpace': {
        const x = inp(0);
        const b = attrInt(n, 'block_size', 2);
        // TF's NHWC DepthToSpace orders the block before the channel: ONNX mode DCR.
        const name = this.emit('DepthToSpace', [this.asNchw(x)], { blocksize: b, mode: 'DCR' });
        return { name, shape: [x.shape[0], x.shape[1] * b, x.shape[2] * b, x.shape[3] / (b * b)], nchw: true };
      }
      case 'Reshape': {
        const x = inp(0);
        const want = Array.from(this.constOf(ins[1]));
        const total = size(x.shape);
        const known = want.filter((d) => d >= 0).reduce((a, b) => a * b, 1);
        const shape = want.map((d) => (d < 0 ? total / known : d));
        if (size(shape) !== total) throw new Error(`${n.name}: cannot reshape [${x.shape}] to [${want}]`);
        if (x.data) return { name: '', shape, nchw: false, data: x.data };
        const name = this.emit('Reshape', [this.asTf(x), this.ints64(shape, 'shape')]);
        return { name, shape, nchw: false };
      }
      case 'ConcatV2': {
        const parts = ins.slice(0, -1).map((r) => this.value(r));
        let axis = this.constOf(ins[ins.length - 1])[0];
        const r = parts[0].shape.length;
        if (axis < 0) axis += r;
        const shape = [...parts[0].shape];
        shape[axis] = parts.reduce((a, p) => a + p.shape[axis], 0);
        if (parts.every((p) => p.data)) return { name: '', shape, nchw: false, data: concatConst(parts, axis) };
        const nchw = r === 4 && parts.some((p) => p.nchw);
        const names = parts.map((p) => (nchw ? this.asNchw(p) : this.asTf(p)));
        const name = this.emit('Concat', names, { axis: nchw ? TO_NCHW.indexOf(axis) : axis });
        return { name, shape, nchw };
      }
      case 'Mean':
      case 'Sum':
      case 'Max': {
        const x = inp(0);
        const r = x.shape.length;
        const axes = Array.from(this.constOf(ins[1])).map((a) => (a < 0 ? a + r : a));
        const keep = attrBool(n, 'keep_dims');
        const shape = keep ? x.shape.map((d, a) => (axes.includes(a) ? 1 : d)) : x.shape.filter((_, a) => !axes.includes(a));
        // Without keep_dims an NCHW input stays usable only if what remains keeps its order (e.g. N, C).
        const left = [0, 1, 2, 3].filter((a) => !axes.includes(a));
        const inNchw = x.nchw && (keep || !(left.includes(3) && (left.includes(1) || left.includes(2))));
        const op = n.op === 'Mean' ? 'ReduceMean' : n.op === 'Sum' ? 'ReduceSum' : 'ReduceMax';
        const mapped = inNchw ? axes.map((a) => TO_NCHW.indexOf(a)) : axes;
        const name = n.op === 'Sum'
          ? this.emit(op, [inNchw ? x.name : this.asTf(x), this.ints64(mapped, 'axes')], { keepdims: keep ? 1 : 0 })
          : this.emit(op, [inNchw ? x.name : this.asTf(x)], { axes: mapped, keepdims: keep ? 1 : 0 });
        return { name, shape, nchw: inNchw && keep };
      }
      case 'MatMul':
      case '_FusedMatMul': {
        const a = inp(0);
        const b = inp(1);
        const ta = attrBool(n, 'transpose_a');
        const tb = attrBool(n, 'transpose_b');
        const args = ins.slice(2).map((r) => this.value(r));
        const ops = fusedOps(n);
        const biasFirst = ops[0] === 'BiasAdd';
        const gemmIns = [this.asTf(a), this.asTf(b)];
        if (biasFirst) gemmIns.push(this.asTf(args[0]));
        let out = this.emit('Gemm', gemmIns, { transA: ta ? 1 : 0, transB: tb ? 1 : 0 });
        let k = biasFirst ? 1 : 0;
        for (const op of ops.slice(biasFirst ? 1 : 0)) out = this.activation(op, out, n, op === 'Prelu' ? args[k++] : undefined, false);
        const m = ta ? a.shape[1] : a.shape[0];
        const nn = tb ? b.shape[0] : b.shape[1];
        return { name: out, shape: [m, nn], nchw: false };
      }
      case 'Relu':
      case 'Relu6':
      case 'Sigmoid':
      case 'Elu':
      case 'LeakyRelu': {
        const x = inp(0);
        const src = x.data ? this.asTf(x) : x.name;
        return { name: this.activation(n.op, src, n, undefined, x.nchw), shape: x.shape, nchw: x.nchw && !x.data };
      }
      case 'Prelu': {
        const x = inp(0);
        const alpha = inp(1);
        const nchw = x.nchw;
        return { name: this.activation('Prelu', nchw ? x.name : this.asTf(x), n, alpha, nchw), shape: x.shape, nchw };
      }
      case 'Add':
      case 'AddV2':
      case 'AddN':
      case 'Sub':
      case 'Mul':
      case 'RealDiv':
      case 'Maximum':
      case 'Minimum':
        return this.elementwise(n);
      case 'Shape': {
        const x = inp(0);
        return { name: '', shape: [x.shape.length], nchw: false, data: Int32Array.from(x.shape) };
      }
      case 'StridedSlice':
        return this.stridedSliceConst(n);
      case 'Pack': {
        const parts = ins.map((r) => this.value(r));
        if (!parts.every((p) => p.data && p.shape.length === 0) || attrInt(n, 'axis', 0) !== 0) throw new Error(`${n.name}: only packing constant scalars is supported`);
        const data = parts[0].data instanceof Int32Array ? Int32Array.from(parts.map((p) => p.data![0])) : Float32Array.from(parts.map((p) => p.data![0]));
        return { name: '', shape: [parts.length], nchw: false, data };
      }
      default:
        throw new Error(`${n.name}: TF op ${n.op} is not supported by the ONNX converter`);
    }
  }

  private elementwise(n: TfjsNode): Val {
    const parts = (n.input ?? []).map((r) => this.value(r));
    const shape = parts.map((p) => p.shape).reduce(broadcast);
    const onnxOp = { Add: 'Add', AddV2: 'Add', AddN: 'Sum', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Maximum: 'Max', Minimum: 'Min' }[n.op]!;
    if (parts.every((p) => p.data)) {
      // Constant arithmetic (e.g. an upsampling size): fold it.
      if (parts.length !== 2 || size(parts[0].shape) !== size(parts[1].shape) && size(parts[1].shape) !== 1 && size(parts[0].shape) !== 1) throw new Error(`${n.name}: cannot fold`);
      const [a, b] = parts.map((p) => p.data!);
      const len = Math.max(a.length, b.length);
      const out = new (a.constructor as any)(len) as ConstData;
      for (let i = 0; i < len; i++) {
        const x = a[a.length === 1 ? 0 : i];
        const y = b[b.length === 1 ? 0 : i];
        out[i] = onnxOp === 'Add' || onnxOp === 'Sum' ? x + y : onnxOp === 'Sub' ? x - y : onnxOp === 'Mul' ? x * y : onnxOp === 'Div' ? x / y : onnxOp === 'Max' ? Math.max(x, y) : Math.min(x, y);
      }
      return { name: '', shape, nchw: false, data: out };
    }
    const nchw = shape.length === 4 && parts.some((p) => !p.data && p.nchw);
    const names = parts.map((p) => {
      if (!nchw) return this.asTf(p);
      if (p.data) return this.constName(p, true);
      if (p.shape.length !== 4) throw new Error(`${n.name}: broadcasting a rank-${p.shape.length} tensor against NCHW`);
      return this.asNchw(p);
    });
    return { name: this.emit(onnxOp, names), shape, nchw };
  }

  private stridedSliceConst(n: TfjsNode): Val {
    const ins = n.input ?? [];
    const x = this.value(ins[0]);
    if (!x.data || x.shape.length !== 1) throw new Error(`${n.name}: only 1-D constant StridedSlice is supported`);
    const [b, e, s] = [1, 2, 3].map((k) => this.constOf(ins[k])[0]);
    const len = x.shape[0];
    if (attrInt(n, 'ellipsis_mask', 0) || attrInt(n, 'new_axis_mask', 0)) throw new Error(`${n.name}: masks not supported`);
    const norm = (v: number) => (v < 0 ? v + len : v);
    if (attrInt(n, 'shrink_axis_mask', 0) & 1) return { name: '', shape: [], nchw: false, data: x.data.slice(norm(b), norm(b) + 1) };
    const begin = attrInt(n, 'begin_mask', 0) & 1 ? (s > 0 ? 0 : len - 1) : norm(b);
    const end = attrInt(n, 'end_mask', 0) & 1 ? (s > 0 ? len : -1) : Math.min(norm(e), len);
    const out: number[] = [];
    for (let i = begin; s > 0 ? i < end : i > end; i += s) out.push(x.data[i]);
    const data = x.data instanceof Int32Array ? Int32Array.from(out) : Float32Array.from(out);
    return { name: '', shape: [out.length], nchw: false, data };
  }

  private conv(n: TfjsNode): Val {
    const ins = n.input ?? [];
    const x = this.value(ins[0]);
    const f = this.value(ins[1]);
    const args = ins.slice(2).map((r) => this.value(r));
    if (attrStr(n, 'data_format') && attrStr(n, 'data_format') !== 'NHWC') throw new Error(`${n.name}: data_format ${attrStr(n, 'data_format')}`);
    const s = attrInts(n, 'strides') ?? [1, 1, 1, 1];
    const d = attrInts(n, 'dilations') ?? [1, 1, 1, 1];
    const pad = attrStr(n, 'padding')!;
    const depthwise = n.op.includes('Depthwise');
    const [kh, kw, cin, cmul] = f.shape;
    if (!f.data) throw new Error(`${n.name}: non-constant filter`);
    // TF filters: conv HWIO, depthwise HW(C)(M). ONNX: OIHW; depthwise as group = C with weight [C*M, 1, H, W]
    // (TF's depthwise output channel c*M + m is ONNX's group c, output m).
    const w = depthwise
      ? this.init(permute(f.data, [kh, kw, cin * cmul], [2, 0, 1]), [cin * cmul, 1, kh, kw], DataType.FLOAT, 'filter')
      : this.init(permute(f.data, f.shape, [3, 2, 0, 1]), [cmul, cin, kh, kw], DataType.FLOAT, 'filter');
    const [oh, hb, he] = spatial(x.shape[1], kh, s[1], d[1], pad);
    const [ow, wb, we] = spatial(x.shape[2], kw, s[2], d[2], pad);
    const cout = depthwise ? cin * cmul : cmul;
    const convIns = [this.asNchw(x), w];
    const tail = fusedOps(n);
    // The bias goes into the Conv; activations follow.
    let out: string;
    const attrs: Record<string, AttrValue> = { kernel_shape: [kh, kw], strides: [s[1], s[2]], dilations: [d[1], d[2]], pads: [hb, wb, he, we], group: depthwise ? cin : 1 };
    if (tail[0] === 'BiasAdd') {
      const bias = args[0];
      convIns.push(this.init(bias.data!, [cout], DataType.FLOAT, 'bias'));
      const conv = this.emit('Conv', convIns, attrs);
      out = this.fusedTail({ ...n, attr: { ...n.attr, fused_ops: { list: { s: n.attr!.fused_ops.list.s.slice(1) } } } }, conv, args.slice(1), true).out;
    } else if (tail.length === 0) {
      out = this.emit('Conv', convIns, attrs);
    } else {
      throw new Error(`${n.name}: fused ops [${tail}] not supported`);
    }
    return { name: out, shape: [x.shape[0], oh, ow, cout], nchw: true };
  }

  private convTranspose(n: TfjsNode): Val {
    const ins = n.input ?? [];
    const outShape = Array.from(this.constOf(ins[0]));
    const f = this.value(ins[1]);
    const x = this.value(ins[2]);
    const s = attrInts(n, 'strides') ?? [1, 1, 1, 1];
    const pad = attrStr(n, 'padding')!;
    const [kh, kw, cout, cin] = f.shape;
    // TF filter [H, W, out, in] → ONNX ConvTranspose weight [in, out, H, W].
    const w = this.init(permute(f.data!, f.shape, [3, 2, 0, 1]), [cin, cout, kh, kw], DataType.FLOAT, 'filter');
    const oh = outShape[1];
    const ow = outShape[2];
    // The pads of the forward convolution that maps the output back to the input.
    const [, hb, he] = spatial(oh, kh, s[1], 1, pad);
    const [, wb, we] = spatial(ow, kw, s[2], 1, pad);
    const extraH = oh - (s[1] * (x.shape[1] - 1) + kh - hb - he);
    const extraW = ow - (s[2] * (x.shape[2] - 1) + kw - wb - we);
    const name = this.emit('ConvTranspose', [this.asNchw(x), w], {
      kernel_shape: [kh, kw], strides: [s[1], s[2]], pads: [hb, wb, he, we], output_padding: [extraH, extraW],
    });
    return { name, shape: [x.shape[0], oh, ow, cout], nchw: true };
  }

  /** Finish: outputs in TF layout under their TF node names. */
  build(outputs: string[]): ConvertedGraph {
    const outSpecs: ValueSpec[] = [];
    const outInfo: { name: string; shape: number[] }[] = [];
    for (const ref of outputs) {
      const v = this.value(ref);
      const name = ref.split(':')[0];
      const src = this.asTf(v);
      this.nodes.push({ op: 'Identity', inputs: [src], outputs: [name], name: `${name}__out` });
      outSpecs.push({ name, type: DataType.FLOAT, dims: v.shape });
      outInfo.push({ name, shape: v.shape });
    }
    if (!this.inputName) throw new Error('the outputs do not depend on the input');
    const inputs: ValueSpec[] = [{ name: this.inputName, type: DataType.FLOAT, dims: this.inputShape }];
    const graph: GraphSpec = { name: 'tfjs', nodes: this.nodes, initializers: this.inits, inputs, outputs: outSpecs };
    return { graph, inputName: this.inputName, inputShape: this.inputShape, outputs: outInfo };
  }
}

function concatConst(parts: Val[], axis: number): ConstData {
  if (parts[0].shape.length !== 1 || axis !== 0) throw new Error('only 1-D constant concatenation is supported');
  const out = new (parts[0].data!.constructor as any)(parts.reduce((a, p) => a + p.data!.length, 0)) as ConstData;
  let off = 0;
  for (const p of parts) {
    out.set(p.data as any, off);
    off += p.data!.length;
  }
  return out;
}

/** Convert a TF.js graph model to an ONNX graph (not yet serialised). `weightData` is the concatenation of its weight shards. */
export function convertTfjsGraph(model: TfjsModel, weightData: Uint8Array, opts: ConvertOptions = {}): ConvertedGraph {
  const outputs = opts.outputs ?? Object.values(model.signature?.outputs ?? {}).map((o) => o.name.split(':')[0]);
  if (!outputs.length) throw new Error('no outputs given and the model has no signature');
  const c = new Converter(model, decodeWeights(model, weightData), opts.batch ?? 1);
  return c.build(outputs);
}

/** Convert a TF.js graph model to a serialised ONNX model. `weightData` is the concatenation of its weight shards. */
export function convertTfjsModel(model: TfjsModel, weightData: Uint8Array, opts: ConvertOptions = {}): ConvertedModel {
  const { graph, ...rest } = convertTfjsGraph(model, weightData, opts);
  return { bytes: encodeModel(graph), ...rest };
}
