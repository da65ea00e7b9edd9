/**
 * ONNX ModelProto serialisation for the TF.js converter (convert.ts), with protobufjs and the ONNX schema:
 * onnx.proto beside this file is the ONNX project's own schema (onnx/onnx.proto, Apache-2.0, unchanged, from
 * onnx/onnx at f7546912001b, 2026-08-22), so every field number, wire type and enum value comes from it, none
 * typed here. The converter builds a plain GraphSpec; encodeModel maps it onto the schema's messages (IR
 * version 7, default-domain opset 13 unless told) and protobufjs writes them (fields in field-number order,
 * repeated scalars unpacked as the proto2 schema declares them).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import type protobuf from 'protobufjs';

const SCHEMA = new URL('./onnx.proto', import.meta.url);

interface Schema {
  model: protobuf.Type;
  dataType: Record<string, number>;
  attrType: Record<string, number>;
  version: Record<string, number>;
}

let schema: Schema | null = null;

/**
 * The parsed schema (read once per process; field names as in onnx.proto: ir_version, raw_data, ...).
 * protobufjs is loaded here, on the first conversion, not when capture's modules are imported (it costs
 * 0.05-0.15 s to load, and converted models are usually served from the cache).
 */
function onnxSchema(): Schema {
  if (!schema) {
    const pb = createRequire(import.meta.url)('protobufjs') as typeof protobuf;
    const { root } = pb.parse(fs.readFileSync(SCHEMA, 'utf8'), { keepCase: true });
    schema = {
      model: root.lookupType('onnx.ModelProto'),
      dataType: root.lookupEnum('onnx.TensorProto.DataType').values,
      attrType: root.lookupEnum('onnx.AttributeProto.AttributeType').values,
      version: root.lookupEnum('onnx.Version').values,
    };
  }
  return schema;
}

/** TensorProto.DataType values the converter emits (from the schema). */
export const DataType = {
  get FLOAT(): number { return onnxSchema().dataType.FLOAT; },
  get INT32(): number { return onnxSchema().dataType.INT32; },
  get INT64(): number { return onnxSchema().dataType.INT64; },
};
export type DataType = number;

export interface TensorInit {
  name: string;
  dims: number[];
  type: DataType;
  /** Little-endian element bytes. */
  raw: Uint8Array;
}

export type AttrValue = number | string | number[] | { float: number } | { floats: number[] };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attrs?: Record<string, AttrValue>;
}

export interface ValueSpec {
  name: string;
  type: DataType;
  /** null entries are symbolic dimensions. */
  dims: (number | null)[];
}

export interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  initializers: TensorInit[];
  inputs: ValueSpec[];
  outputs: ValueSpec[];
}

/** AttributeProto for one attribute value. */
function attribute(name: string, v: AttrValue, t: Record<string, number>): Record<string, unknown> {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: use {float} for non-integers`);
    return { name, i: v, type: t.INT };
  }
  if (typeof v === 'string') return { name, s: new TextEncoder().encode(v), type: t.STRING };
  if (Array.isArray(v)) return { name, ints: v, type: t.INTS };
  if ('float' in v) return { name, f: v.float, type: t.FLOAT };
  return { name, floats: v.floats, type: t.FLOATS };
}

/** ValueInfoProto of a tensor: element type and shape (a null dimension is the symbolic 'N'). */
function valueInfo(v: ValueSpec): Record<string, unknown> {
  return {
    name: v.name,
    type: { tensor_type: { elem_type: v.type, shape: { dim: v.dims.map((d) => (d === null ? { dim_param: 'N' } : { dim_value: d })) } } },
  };
}

/** Serialise a ModelProto (IR version 7, default-domain opset `opset`). */
export function encodeModel(graph: GraphSpec, opset = 13, producer = 'reel2real'): Uint8Array {
  const s = onnxSchema();
  const model = {
    ir_version: s.version.IR_VERSION_2020_5_8,
    producer_name: producer,
    graph: {
      node: graph.nodes.map((n) => ({
        input: n.inputs,
        output: n.outputs,
        name: n.name,
        op_type: n.op,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v, s.attrType)),
      })),
      name: graph.name,
      initializer: graph.initializers.map((t) => ({ dims: t.dims, data_type: t.type, name: t.name, raw_data: t.raw })),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
    opset_import: [{ domain: '', version: opset }],
  };
  const err = s.model.verify(model);
  if (err) throw new Error(`onnx: invalid ModelProto: ${err}`);
  return s.model.encode(model).finish();
}

/** Decode ModelProto bytes into plain objects with the schema's field names (int64 as numbers, bytes as Uint8Array). */
export function decodeModel(bytes: Uint8Array): Record<string, unknown> {
  const s = onnxSchema();
  return s.model.toObject(s.model.decode(bytes), { longs: Number, enums: Number }) as Record<string, unknown>;
}
