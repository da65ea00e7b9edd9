/**
 * The video track of an MP4/MOV file from its sample tables: presentation times of the frames (mdhd timescale,
 * stts durations, ctts offsets; what ffprobe reports as pts_time, less the first), and for H.264 and VP9 each
 * sample's bytes and the decoder config, so the page can decode every frame once, in order, with WebCodecs.
 * Returns null for anything it cannot read (another container, fragmented MP4): the page then seeks the <video>
 * element to each frame, estimating the frame interval by playing the file when the times are unknown.
 */

interface Box {
  type: string;
  start: number;
  end: number;
  body: number;
}

function boxes(v: DataView, from: number, to: number): Box[] {
  const out: Box[] = [];
  let p = from;
  while (p + 8 <= to) {
    let size = v.getUint32(p);
    const type = String.fromCharCode(v.getUint8(p + 4), v.getUint8(p + 5), v.getUint8(p + 6), v.getUint8(p + 7));
    let body = p + 8;
    if (size === 1) {
      size = Number(v.getBigUint64(p + 8));
      body = p + 16;
    } else if (size === 0) size = to - p;
    if (size < 8 || p + size > to) break;
    out.push({ type, start: p, end: p + size, body });
    p += size;
  }
  return out;
}

const child = (v: DataView, b: Box, type: string) => boxes(v, b.body, b.end).find((x) => x.type === type);

/** Find the top-level moov box by reading box headers only, then read it. */
async function readMoov(file: Blob): Promise<DataView | null> {
  let p = 0;
  while (p + 16 <= file.size) {
    const h = new DataView(await file.slice(p, p + 16).arrayBuffer());
    let size = h.getUint32(0);
    const type = String.fromCharCode(h.getUint8(4), h.getUint8(5), h.getUint8(6), h.getUint8(7));
    if (size === 1) size = Number(h.getBigUint64(8));
    else if (size === 0) size = file.size - p;
    if (size < 8) return null;
    if (type === 'moov') return size > 64 * 1024 * 1024 ? null : new DataView(await file.slice(p, p + size).arrayBuffer());
    p += size;
  }
  return null;
}

/** One coded sample (frame) of the video track: where its bytes are, when it is shown, whether it is a key frame. */
export interface Mp4Sample {
  offset: number;
  size: number;
  /** Presentation time, seconds from the first frame shown. */
  time: number;
  key: boolean;
}

/** The video track of an MP4/MOV file, enough to decode it with WebCodecs (codec string, decoder config box). */
export interface Mp4Video {
  /** WebCodecs codec string, or null when this reader does not know the codec (then only `times` is usable). */
  codec: string | null;
  /** The decoder configuration record (avcC body) for H.264; absent for VP9. */
  description?: Uint8Array;
  width: number;
  height: number;
  /** Whether the track's matrix is the identity (no rotation or flip to apply for display). */
  upright: boolean;
  /** Samples in decoding order. */
  samples: Mp4Sample[];
  /** Presentation times of all frames, sorted (seconds from the first). */
  times: Float64Array;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');
const dec2 = (n: number) => String(n).padStart(2, '0');

/** The codec string and config of a visual sample entry (avc1/avc3 + avcC, vp09 + vpcC); null codec otherwise. */
function sampleEntry(v: DataView, stsd: Box): { codec: string | null; description?: Uint8Array } {
  const entry = boxes(v, stsd.body + 8, stsd.end)[0];
  if (!entry) return { codec: null };
  // A visual sample entry: 8 bytes (reserved, data reference index) + 70 bytes of picture fields, then boxes.
  const kids = boxes(v, entry.body + 78, entry.end);
  const find = (t: string) => kids.find((k) => k.type === t);
  if (entry.type === 'avc1' || entry.type === 'avc3') {
    const avcC = find('avcC');
    if (!avcC) return { codec: null };
    const d = new Uint8Array(v.buffer, v.byteOffset + avcC.body, avcC.end - avcC.body).slice();
    return { codec: `avc1.${hex2(d[1])}${hex2(d[2])}${hex2(d[3])}`, description: d };
  }
  if (entry.type === 'vp09') {
    const vpcC = find('vpcC');
    if (!vpcC) return { codec: null };
    const b = vpcC.body + 4; // version + flags
    return { codec: `vp09.${dec2(v.getUint8(b))}.${dec2(v.getUint8(b + 1))}.${dec2(v.getUint8(b + 2) >> 4)}` };
  }
  return { codec: null };
}

/** The first video track's samples and decoder config; null for anything this reader cannot read. */
export async function mp4Video(file: Blob): Promise<Mp4Video | null> {
  try {
    const v = await readMoov(file);
    if (!v) return null;
    const moov = boxes(v, 0, v.byteLength)[0];
    for (const trak of boxes(v, moov.body, moov.end).filter((b) => b.type === 'trak')) {
      const mdia = child(v, trak, 'mdia');
      if (!mdia) continue;
      const hdlr = child(v, mdia, 'hdlr');
      if (!hdlr) continue;
      const handler = String.fromCharCode(v.getUint8(hdlr.body + 8), v.getUint8(hdlr.body + 9), v.getUint8(hdlr.body + 10), v.getUint8(hdlr.body + 11));
      if (handler !== 'vide') continue;
      const mdhd = child(v, mdia, 'mdhd')!;
      const timescale = v.getUint8(mdhd.body) === 1 ? v.getUint32(mdhd.body + 20) : v.getUint32(mdhd.body + 12);
      const stbl = child(v, child(v, mdia, 'minf')!, 'stbl')!;
      const stts = child(v, stbl, 'stts');
      if (!stts || !timescale) return null;
      // Decoding times (stts), then presentation times (+ ctts).
      const pts: number[] = [];
      let t = 0;
      const n = v.getUint32(stts.body + 4);
      for (let k = 0; k < n; k++) {
        const count = v.getUint32(stts.body + 8 + 8 * k);
        const delta = v.getUint32(stts.body + 12 + 8 * k);
        for (let i = 0; i < count; i++, t += delta) pts.push(t);
      }
      const ctts = child(v, stbl, 'ctts');
      if (ctts) {
        const version = v.getUint8(ctts.body);
        const m = v.getUint32(ctts.body + 4);
        let s = 0;
        for (let k = 0; k < m; k++) {
          const count = v.getUint32(ctts.body + 8 + 8 * k);
          const off = version === 1 ? v.getInt32(ctts.body + 12 + 8 * k) : v.getUint32(ctts.body + 12 + 8 * k);
          for (let i = 0; i < count && s < pts.length; i++, s++) pts[s] += off;
        }
      }
      const first = Math.min(...pts);
      const times = Float64Array.from(pts, (x) => (x - first) / timescale).sort();
      // Track matrix (tkhd): identity = upright.
      const tkhd = child(v, trak, 'tkhd');
      let upright = true;
      if (tkhd) {
        const m0 = tkhd.body + (v.getUint8(tkhd.body) === 1 ? 48 : 40);
        const want = [0x10000, 0, 0, 0, 0x10000, 0];
        const at = [0, 4, 8, 12, 16, 20];
        upright = at.every((o, i) => v.getInt32(m0 + o) === want[i]);
      }
      const out: Mp4Video = { codec: null, width: 0, height: 0, upright, samples: [], times };
      const stsd = child(v, stbl, 'stsd');
      const stsz = child(v, stbl, 'stsz');
      const stsc = child(v, stbl, 'stsc');
      const stco = child(v, stbl, 'stco') ?? child(v, stbl, 'co64');
      if (!stsd || !stsz || !stsc || !stco) return out;
      const entry = boxes(v, stsd.body + 8, stsd.end)[0];
      if (entry) {
        out.width = v.getUint16(entry.body + 24);
        out.height = v.getUint16(entry.body + 26);
      }
      // Sample sizes, chunk offsets, samples per chunk → each sample's offset.
      const fixed = v.getUint32(stsz.body + 4);
      const count = v.getUint32(stsz.body + 8);
      if (count !== pts.length) return out;
      const size = (i: number) => (fixed ? fixed : v.getUint32(stsz.body + 12 + 4 * i));
      const chunks = v.getUint32(stco.body + 4);
      const chunkOffset = (c: number) => (stco.type === 'co64' ? Number(v.getBigUint64(stco.body + 8 + 8 * c)) : v.getUint32(stco.body + 8 + 4 * c));
      const runs = v.getUint32(stsc.body + 4);
      const stss = child(v, stbl, 'stss');
      const keys = stss ? new Set(Array.from({ length: v.getUint32(stss.body + 4) }, (_, k) => v.getUint32(stss.body + 8 + 4 * k) - 1)) : null;
      let i = 0;
      for (let r = 0; r < runs; r++) {
        const firstChunk = v.getUint32(stsc.body + 8 + 12 * r) - 1;
        const perChunk = v.getUint32(stsc.body + 12 + 12 * r);
        const lastChunk = r + 1 < runs ? v.getUint32(stsc.body + 8 + 12 * (r + 1)) - 1 : chunks;
        for (let c = firstChunk; c < lastChunk && i < count; c++) {
          let off = chunkOffset(c);
          for (let k = 0; k < perChunk && i < count; k++, i++) {
            out.samples.push({ offset: off, size: size(i), time: (pts[i] - first) / timescale, key: keys ? keys.has(i) : true });
            off += size(i);
          }
        }
      }
      if (i !== count) return { ...out, samples: [] };
      Object.assign(out, sampleEntry(v, stsd));
      return out;
    }
    return null;
  } catch {
    return null;
  }
}

/** Presentation times of the video frames (seconds from the first), or null when the file cannot be read. */
export async function mp4FrameTimes(file: Blob): Promise<Float64Array | null> {
  return (await mp4Video(file))?.times ?? null;
}
