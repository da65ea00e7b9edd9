/**
 * Presentation times of the video frames of an MP4/MOV file, from its sample tables (mdhd timescale, stts
 * durations, ctts offsets, the first edit's media time): what ffprobe reports as pts_time, less the start. The
 * browser plays a file but does not say when its frames are; the page seeks to each frame by these times.
 * Returns null for anything it cannot read (another container, fragmented MP4): the page then estimates the
 * frame interval by playing the file.
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

export async function mp4FrameTimes(file: Blob): Promise<Float64Array | null> {
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
      const dts: number[] = [];
      let t = 0;
      const n = v.getUint32(stts.body + 4);
      for (let k = 0; k < n; k++) {
        const count = v.getUint32(stts.body + 8 + 8 * k);
        const delta = v.getUint32(stts.body + 12 + 8 * k);
        for (let i = 0; i < count; i++, t += delta) dts.push(t);
      }
      const pts = dts.slice();
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
      pts.sort((a, b) => a - b);
      const first = pts[0];
      return Float64Array.from(pts, (x) => (x - first) / timescale);
    }
    return null;
  } catch {
    return null;
  }
}
