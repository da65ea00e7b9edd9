/**
 * Save a received episode as `.npz` (numpy opens it alone): every tensor under its wire name, and the
 * episode header as `meta.json`.
 */
import * as path from 'node:path';
import { nd, writeNpz, type DType } from '../io/npz.ts';
import type { ReceivedEpisode } from './consumer.ts';

/** `<seq>-<first 16 hex digits of the id>.npz`; refuses an id or seq that is not what the wire allows. */
export function receivedFileName(ep: Pick<ReceivedEpisode, 'seq' | 'id'>): string {
  if (!/^[0-9a-f]{64}$/.test(ep.id) || !Number.isSafeInteger(ep.seq) || ep.seq < 0) throw new Error('received episode with an invalid id or seq (the wire checks should have refused it)');
  return `${String(ep.seq).padStart(6, '0')}-${ep.id.slice(0, 16)}.npz`;
}

/** Write `<dir>/<seq>-<id>.npz` atomically; returns the path. */
export function saveReceived(dir: string, ep: ReceivedEpisode): string {
  const file = path.join(dir, receivedFileName(ep));
  if (path.resolve(path.dirname(file)) !== path.resolve(dir)) throw new Error('received file name escapes the output directory');
  const arrays: Record<string, ReturnType<typeof nd>> = {};
  for (const [name, t] of Object.entries(ep.arrays)) arrays[name] = nd(t.data, t.shape, t.dtype.slice(1) as DType);
  const { tensors: _t, reports: _r, ...meta } = ep.header;
  writeNpz(file, { arrays, meta: { kind: 'reel2real-episode', ...meta, ...ep.reports } });
  return file;
}
