/**
 * The project's former hand-written ONNX writer (src/capture/onnx/proto.ts until protobufjs with onnx.proto
 * replaced it), kept only as the test oracle that the replacement writes the same bytes
 * (test/capture/onnx.test.ts). Not used by the project's code.
 *
 * A small protobuf writer for the parts of ONNX's ModelProto the TF.js converter emits (onnx.proto, IR version
 * 7 / opset 13). Field numbers are those of the public onnx.proto. Repeated scalars are written unpacked, which
 * every protobuf reader accepts for proto2 files.
 */
import type { AttrValue, GraphSpec, NodeSpec, TensorInit, ValueSpec } from '../../src/capture/onnx/proto.ts';

/** Growable byte buffer with protobuf wire-format primitives. */
class Writer {
  private buf = new Uint8Array(1024);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  varint(v: number | bigint): void {
    // Negative values are written as 10-byte two's complement (int64), as protobuf requires.
    let x = BigInt.asUintN(64, BigInt(v));
    this.reserve(10);
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    this.reserve(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }

  int(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }

  float(field: number, v: number): void {
    this.tag(field, 5);
    this.reserve(4);
    new DataView(this.buf.buffer, this.len, 4).setFloat32(0, v, true);
    this.len += 4;
  }

  message(field: number, write: (w: Writer) => void): void {
    const w = new Writer();
    write(w);
    this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}


// onnx.proto AttributeProto.AttributeType
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;

function writeAttr(w: Writer, name: string, v: AttrValue): void {
  w.string(1, name);
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: use {float} for non-integers`);
    w.int(3, v);
    w.int(20, ATTR_INT);
  } else if (typeof v === 'string') {
    w.string(4, v);
    w.int(20, ATTR_STRING);
  } else if (Array.isArray(v)) {
    for (const x of v) w.int(8, x);
    w.int(20, ATTR_INTS);
  } else if ('float' in v) {
    w.float(2, v.float);
    w.int(20, ATTR_FLOAT);
  } else {
    for (const x of v.floats) w.float(7, x);
    w.int(20, ATTR_FLOATS);
  }
}

function writeTensor(w: Writer, t: TensorInit): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.type);
  w.string(8, t.name);
  w.bytes(9, t.raw);
}

function writeValueInfo(w: Writer, v: ValueSpec): void {
  w.string(1, v.name);
  w.message(2, (tp) =>
    tp.message(1, (tt) => {
      tt.int(1, v.type);
      tt.message(2, (sh) => {
        for (const d of v.dims) sh.message(1, (dim) => (d === null ? dim.string(2, 'N') : dim.int(1, d)));
      });
    }),
  );
}

function writeNode(w: Writer, n: NodeSpec): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, (a) => writeAttr(a, k, v));
}

/** Serialise a ModelProto (IR version 7, default-domain opset `opset`). */
export function legacyEncodeModel(graph: GraphSpec, opset = 13, producer = 'reel2real'): Uint8Array {
  const w = new Writer();
  w.int(1, 7); // ir_version
  w.string(2, producer); // producer_name
  w.message(7, (g) => {
    for (const n of graph.nodes) g.message(1, (x) => writeNode(x, n));
    g.string(2, graph.name);
    for (const t of graph.initializers) g.message(5, (x) => writeTensor(x, t));
    for (const v of graph.inputs) g.message(11, (x) => writeValueInfo(x, v));
    for (const v of graph.outputs) g.message(12, (x) => writeValueInfo(x, v));
  });
  w.message(8, (o) => {
    o.string(1, '');
    o.int(2, opset);
  });
  return w.finish();
}
