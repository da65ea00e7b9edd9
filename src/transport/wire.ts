/**
 * The wire format of reel2real streaming (docs/wire-format.md is the reference; keep the two in step).
 *
 * Every message is multipart: frame 0 is an ASCII command, frame 1 a UTF-8 JSON body. An EPISODE adds, after
 * the body (the "header"), a JSON frame with the episode's reports (provenance, quality, validation: most of
 * the JSON, kept out of the header so a reader parses it only if it wants it), then one frame per tensor: raw
 * little-endian bytes in the order the header lists them. Every frame after the header has a CRC-32
 * (zlib/IEEE) in the header, and a reader maps tensors with `np.frombuffer` without copying.
 */
import * as os from 'node:os';
import type { Episode, IndexEntry } from '../store/episode.ts';
import type { RobotMotion } from '../robot/motion.ts';
import { CTOR, DESCR, crc32, crc32Table, dtypeOf, type DType, type NdArray, type NumericArray } from '../io/npz.ts';

export const PROTOCOL = 1;
export const SCHEMA = 2;

/** Client → server commands. */
export type ClientCommand = 'HELLO' | 'CREDIT' | 'ACK' | 'NACK' | 'PING' | 'BYE';
/** Server → client commands. */
export type ServerCommand = 'WELCOME' | 'EPISODE' | 'ACKED' | 'END' | 'PONG' | 'ERROR' | 'RESET';

export type Mode = 'shared' | 'broadcast';

export interface HelloBody {
  protocol: number;
  name: string;
  /** Default: the server's mode (broadcast unless the server was started with one). */
  mode?: Mode;
  /** Shared mode: the group whose cursor the trainers share (default: the trainer name). */
  group?: string;
  credit: number;
  /** Sequence numbers the trainer acked without seeing ACKED (resent after a reconnect). */
  acks?: number[];
  /** Sequence numbers the trainer holds unacked (received, not yet processed). */
  holding?: number[];
  /** Ask for a longer liveness window than the server's (ms, at most an hour). */
  timeout_ms?: number;
}

export interface WelcomeBody {
  protocol: number;
  session: string;
  cursor: string;
  mode: Mode;
  total: number;
  acked: number;
  follow: boolean;
  heartbeat_ms: number;
  timeout_ms: number;
}

export interface TensorInfo {
  name: string;
  /** numpy dtype string: '<f4', '<f8', '|u1', '|b1', '<i4', ... */
  dtype: string;
  shape: number[];
  bytes: number;
  /** CRC-32 (ISO-HDLC, as zlib.crc32 / Python's zlib.crc32) of the frame's bytes, unsigned. */
  crc32: number;
}

export interface EpisodeHeader {
  schema: number;
  seq: number;
  id: string;
  /** 1 on first delivery to this cursor, 2 on the first redelivery, ... */
  delivery: number;
  robot: string | null;
  joint_names: string[];
  fps: number | null;
  frames: number;
  root_link: string | null;
  /** Root quaternion component order. */
  quat_order: 'wxyz';
  human: { joint_names: string[]; parents: number[]; fps: number; frames: number; source: unknown } | null;
  hand: { robot: string; joint_names: string[]; root_link: string } | null;
  task: string | null;
  /** The reports frame (frame 2 of the message): its length and CRC-32. */
  reports: { bytes: number; crc32: number };
  checksum: 'crc32';
  tensors: TensorInfo[];
}

/** What the reports frame holds: JSON `{"provenance", "quality", "validation"}`. */
export interface EpisodeReports {
  provenance: unknown;
  quality: unknown;
  validation: unknown;
}

const FROM_DESCR = new Map<string, DType>(Object.entries(DESCR).map(([k, v]) => [v, k as DType]));

if (os.endianness() !== 'LE') throw new Error('reel2real transport needs a little-endian host');

/** CRC-32 (zlib/IEEE) of bytes: the checksum of every tensor frame (native zlib.crc32 where Node has it). */
export { crc32, crc32Table as tableCrc32 };

function bytesOf(a: NumericArray): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * The tensors of an episode, in wire order, named as in docs/wire-format.md, each with the CRC-32 the
 * episode carries for it (`Episode.checksums`) when it does.
 */
export function episodeTensors(ep: Episode): { name: string; arr: NdArray }[] {
  const out: { name: string; arr: NdArray }[] = [];
  const add = (name: string, data: NumericArray, shape: number[], dtype: DType | undefined, crc: number | undefined) => {
    const arr: NdArray = { dtype: dtype ?? dtypeOf(data), shape, data };
    if (crc !== undefined) arr.crc32 = crc;
    out.push({ name, arr });
  };
  const sums = ep.checksums ?? {};
  const addMotion = (prefix: string, m: RobotMotion, crc: Record<string, number> = {}) => {
    const T = m.timestamps.length;
    add(`${prefix}q`, m.q, [T, m.jointNames.length], undefined, crc.q);
    add(`${prefix}root_pos`, m.rootPos, [T, 3], undefined, crc.root_pos);
    add(`${prefix}root_quat`, m.rootQuat, [T, 4], undefined, crc.root_quat);
    add(`${prefix}timestamps`, m.timestamps, [T], undefined, crc.timestamps);
    for (const [k, v] of Object.entries(m.extras ?? {})) add(`${prefix}extra.${k}`, v.data, v.shape, v.dtype, crc[k]);
  };
  if (ep.motion) addMotion('', ep.motion, sums.motion);
  const t = ep.track;
  if (t) {
    const T = t.timestamps.length;
    const J = t.jointNames.length;
    const crc = sums.track ?? {};
    add('human.positions', t.positions, [T, J, 3], undefined, crc.positions);
    add('human.confidence', t.confidence, [T, J], undefined, crc.confidence);
    add('human.timestamps', t.timestamps, [T], undefined, crc.timestamps);
    for (const [k, v] of Object.entries(t.extras ?? {})) add(`human.extra.${k}`, v.data, v.shape, v.dtype, crc[k]);
  }
  if (ep.handMotion) addMotion('hand.', ep.handMotion, sums.hand_motion);
  for (const [k, v] of Object.entries(ep.masks ?? {})) add(`mask.${k}`, v, [v.length], 'u1', sums.masks?.[k]);
  return out;
}

export interface EncodedEpisode {
  /** Header without seq/delivery filled (they change per send). */
  header: Omit<EpisodeHeader, 'seq' | 'delivery'>;
  /** The reports frame (JSON). */
  reports: Buffer;
  /** The tensor frames. */
  frames: Buffer[];
  /** `header` as UTF-8 JSON without its opening brace, made once by `headerFrame` and reused for every send. */
  headerTail?: Buffer;
}

/**
 * The EPISODE body for one send: `{"seq":S,"delivery":D,` followed by the cached JSON of the rest of the
 * header, so the ~3 KB header is stringified once per encoded episode, not once per send.
 */
export function headerFrame(enc: EncodedEpisode, seq: number, delivery: number): Buffer {
  let tail = enc.headerTail;
  if (!tail) {
    const text = JSON.stringify(enc.header);
    tail = enc.headerTail = Buffer.from(text.length > 2 ? text.slice(1) : '}', 'utf8');
  }
  const head = `{"seq":${seq},"delivery":${delivery}${tail.length > 1 ? ',' : ''}`;
  const out = Buffer.allocUnsafe(head.length + tail.length);
  out.write(head, 0, 'latin1');
  tail.copy(out, head.length);
  return out;
}

/**
 * Build the header and the tensor frames (views on the episode's arrays: no copy). Checksums the episode
 * carries are used as they are unless `recompute` (then every frame is checksummed here).
 */
export function encodeEpisode(ep: Episode, entry: IndexEntry, opts: { recompute?: boolean } = {}): EncodedEpisode {
  const tensors = episodeTensors(ep);
  const frames: Buffer[] = [];
  const infos: TensorInfo[] = [];
  for (const { name, arr } of tensors) {
    const b = bytesOf(arr.data);
    frames.push(b);
    const crc = arr.crc32 !== undefined && !opts.recompute ? arr.crc32 : crc32(b);
    infos.push({ name, dtype: DESCR[arr.dtype], shape: arr.shape, bytes: b.byteLength, crc32: crc });
  }
  const m = ep.motion;
  const t = ep.track;
  const h = ep.handMotion;
  const frames0 = m ? m.timestamps.length : t ? t.timestamps.length : 0;
  const reports = json({ provenance: ep.provenance, quality: ep.quality ?? null, validation: ep.validation ?? null });
  return {
    reports,
    header: {
      schema: SCHEMA,
      id: entry.id,
      robot: m ? m.robot.name : (entry.robot ?? null),
      joint_names: m ? m.jointNames : [],
      fps: m ? m.fps : t ? t.fps : (entry.fps ?? null),
      frames: frames0,
      root_link: m ? m.rootLink : null,
      quat_order: 'wxyz',
      human: t ? { joint_names: t.jointNames, parents: t.parents, fps: t.fps, frames: t.timestamps.length, source: t.source } : null,
      hand: h ? { robot: h.robot.name, joint_names: h.jointNames, root_link: h.rootLink } : null,
      task: ep.provenance.task ?? entry.task ?? null,
      reports: { bytes: reports.byteLength, crc32: crc32(reports) },
      checksum: 'crc32',
      tensors: infos,
    },
    frames,
  };
}

export interface WireTensor {
  dtype: string;
  shape: number[];
  data: NumericArray;
}

export interface DecodedEpisode {
  header: EpisodeHeader;
  /** The reports frame, checked against its CRC-32 but not parsed (see parseReports). */
  reports: Uint8Array;
  arrays: Record<string, WireTensor>;
}

export class WireError extends Error {
  constructor(message: string, readonly seq: number | null) {
    super(message);
    this.name = 'WireError';
  }
}

/** Bounds on what a peer may declare: anything beyond is refused before it is used. */
export const WIRE_LIMITS = {
  tensors: 4096,
  dims: 8,
  nameChars: 200,
  jointNames: 100_000,
  /** Largest frame either side accepts (ZeroMQ's maxMessageSize on the receiving socket). */
  episodeFrameBytes: 2 ** 31 - 1,
  controlMessageBytes: 16 * 2 ** 20,
  seqList: 100_000,
} as const;

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
// Tensor names become npz member names: no path separators, whitespace or control characters.
const NAME_RE = /^[^/\\\s\x00-\x1f\x7f]+$/;

/** Whether `ep` is a ZeroMQ endpoint with an IPv6 address (tcp://[::1]:5555), which needs the socket's ipv6 option. */
export function isIpv6Endpoint(ep: string): boolean {
  return /^(tcp|udp|ws|wss):\/\/(?:[^;]*;)?\[[0-9A-Fa-f:.%a-z]*\]:/.test(ep);
}

/**
 * Check every field of an EPISODE header a reader uses before it is used: seq and delivery are counts, the id
 * is 64 hex digits (it becomes part of file names), tensor names are plain names, dtypes are known, shapes are
 * at most 8 non-negative dimensions whose product fits the declared bytes. Throws WireError.
 */
export function validateHeader(h: unknown): asserts h is EpisodeHeader {
  if (!h || typeof h !== 'object' || Array.isArray(h)) throw new WireError('episode header is not a JSON object', null);
  const o = h as Record<string, unknown>;
  const seq = isCount(o.seq) ? o.seq : null;
  const bad = (what: string): never => { throw new WireError(`episode header: ${what}`, seq); };
  if (seq === null) bad('seq is not a non-negative integer');
  if (!isCount(o.delivery) || o.delivery < 1) bad('delivery is not a positive integer');
  if (typeof o.id !== 'string' || !/^[0-9a-f]{64}$/.test(o.id)) bad(`id is not 64 hex digits: ${JSON.stringify(String(o.id)).slice(0, 80)}`);
  if (!isCount(o.frames)) bad('frames is not a non-negative integer');
  if (o.fps !== null && !(typeof o.fps === 'number' && Number.isFinite(o.fps) && o.fps > 0 && o.fps <= 1e6)) bad('fps is not a positive number or null');
  for (const k of ['robot', 'root_link', 'task'] as const) {
    if (o[k] !== null && o[k] !== undefined && (typeof o[k] !== 'string' || (o[k] as string).length > 10_000)) bad(`${k} is not a string or null`);
  }
  if (!Array.isArray(o.joint_names) || o.joint_names.length > WIRE_LIMITS.jointNames || o.joint_names.some((n) => typeof n !== 'string' || n.length > WIRE_LIMITS.nameChars)) bad('joint_names is not a list of names');
  if (!Array.isArray(o.tensors)) bad('tensors is not a list');
  const tensors = o.tensors as unknown[];
  if (tensors.length > WIRE_LIMITS.tensors) bad(`${tensors.length} tensors (at most ${WIRE_LIMITS.tensors})`);
  const names = new Set<string>();
  for (const t of tensors) {
    if (!t || typeof t !== 'object') bad('a tensor entry is not an object');
    const x = t as Record<string, unknown>;
    if (typeof x.name !== 'string' || !x.name || x.name.length > WIRE_LIMITS.nameChars || !NAME_RE.test(x.name) || x.name.startsWith('.')) bad(`tensor name ${JSON.stringify(String(x.name)).slice(0, 80)} is not a plain name`);
    if (names.has(x.name as string)) bad(`tensor ${x.name} listed twice`);
    names.add(x.name as string);
    if (typeof x.dtype !== 'string' || !FROM_DESCR.has(x.dtype)) bad(`tensor ${x.name}: unknown dtype ${JSON.stringify(String(x.dtype)).slice(0, 40)}`);
    if (!Array.isArray(x.shape) || x.shape.length > WIRE_LIMITS.dims || !x.shape.every(isCount)) bad(`tensor ${x.name}: shape is not at most ${WIRE_LIMITS.dims} non-negative integers`);
    if (!isCount(x.bytes) || x.bytes > WIRE_LIMITS.episodeFrameBytes) bad(`tensor ${x.name}: bytes is not a count within the frame limit`);
    if (!isCount(x.crc32) || x.crc32 > 0xffffffff) bad(`tensor ${x.name}: crc32 is not an unsigned 32-bit integer`);
    let n = 1;
    for (const d of x.shape as number[]) {
      n *= d;
      if (n > WIRE_LIMITS.episodeFrameBytes) bad(`tensor ${x.name}: shape [${(x.shape as number[]).join(', ')}] is larger than any frame`);
    }
    if (n * CTOR[FROM_DESCR.get(x.dtype as string)!].BYTES_PER_ELEMENT !== x.bytes) bad(`tensor ${x.name}: shape [${(x.shape as number[]).join(', ')}] does not match ${x.bytes} bytes`);
  }
  const r = o.reports as Record<string, unknown> | undefined;
  if (!r || typeof r !== 'object' || !isCount(r.bytes) || !isCount(r.crc32)) bad('reports is not {bytes, crc32}');
}

/**
 * Parse an EPISODE's header, check its reports frame and tensor frames (length and CRC-32 of each). Arrays
 * are views on the received buffers where they are aligned (copies otherwise); the reports are left unparsed.
 * Throws WireError on any mismatch.
 */
export function decodeEpisode(body: Uint8Array, reports: Uint8Array | undefined, frames: Uint8Array[]): DecodedEpisode {
  let header: EpisodeHeader;
  try {
    header = parseJson(body) as EpisodeHeader;
  } catch {
    throw new WireError('episode header is not JSON', null);
  }
  const seq = isCount(header?.seq) ? header.seq : null;
  if (header?.schema !== SCHEMA) throw new WireError(`episode schema ${JSON.stringify(header?.schema)?.slice(0, 20)}, this reader knows ${SCHEMA}`, seq);
  validateHeader(header);
  if (!Array.isArray(header.tensors) || header.tensors.length !== frames.length) {
    throw new WireError(`header lists ${header.tensors?.length} tensors, message has ${frames.length} frames`, seq);
  }
  const r = header.reports;
  if (!reports || !r || reports.byteLength !== r.bytes) throw new WireError(`reports frame: ${reports?.byteLength} bytes, header says ${r?.bytes}`, seq);
  const rc = crc32(reports);
  if (rc !== r.crc32) throw new WireError(`reports frame: crc32 ${rc} != ${r.crc32}`, seq);
  const arrays: Record<string, WireTensor> = {};
  for (let i = 0; i < frames.length; i++) {
    const info = header.tensors[i];
    const f = frames[i];
    if (f.byteLength !== info.bytes) throw new WireError(`tensor ${info.name}: ${f.byteLength} bytes, header says ${info.bytes}`, seq);
    const c = crc32(f);
    if (c !== info.crc32) throw new WireError(`tensor ${info.name}: crc32 ${c} != ${info.crc32}`, seq);
    const dt = FROM_DESCR.get(info.dtype);
    if (!dt) throw new WireError(`tensor ${info.name}: unknown dtype ${info.dtype}`, seq);
    const C = CTOR[dt];
    const n = info.shape.reduce((a, b) => a * b, 1);
    if (n * C.BYTES_PER_ELEMENT !== f.byteLength) throw new WireError(`tensor ${info.name}: shape [${info.shape}] does not match ${f.byteLength} bytes`, seq);
    let data: NumericArray;
    if (f.byteOffset % C.BYTES_PER_ELEMENT === 0) data = new C(f.buffer as ArrayBuffer, f.byteOffset, n);
    else {
      const copy = new Uint8Array(f.byteLength);
      copy.set(f);
      data = new C(copy.buffer, 0, n);
    }
    arrays[info.name] = { dtype: info.dtype, shape: info.shape, data };
  }
  return { header, reports, arrays };
}

/** The reports frame as an object. */
export function parseReports(reports: Uint8Array): EpisodeReports {
  const v = parseJson(reports) as Partial<EpisodeReports> | null;
  return { provenance: v?.provenance ?? null, quality: v?.quality ?? null, validation: v?.validation ?? null };
}

/** A frame's bytes parsed as UTF-8 JSON (throws on bad JSON). */
function parseJson(b: Uint8Array): unknown {
  return JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'));
}

export function json(body: unknown): Buffer {
  return Buffer.from(JSON.stringify(body), 'utf8');
}

export function parseBody(b: Uint8Array | undefined): Record<string, unknown> | null {
  if (!b) return null;
  try {
    const v = parseJson(b);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Like parseBody, but refuses (null) bodies over `maxBytes`. */
export function parseSmallBody(b: Uint8Array | undefined, maxBytes = WIRE_LIMITS.controlMessageBytes): Record<string, unknown> | null {
  return b && b.byteLength > maxBytes ? null : parseBody(b);
}

/** Loopback or local endpoints, where plain (unencrypted) transport is allowed without --curve. */
export function isLocalEndpoint(ep: string): boolean {
  if (ep.startsWith('ipc://') || ep.startsWith('inproc://')) return true;
  const m = /^tcp:\/\/(?:[^;]*;)?(\[[^\]]*\]|[^:]+):/.exec(ep);
  if (!m) return false;
  const host = m[1];
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === 'localhost' || host === '[::1]' || host === 'lo';
}
