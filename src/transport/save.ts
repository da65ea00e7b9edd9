/**
 * Save a received episode as `.npz` (numpy opens it alone): every tensor under its wire name, and the
 * episode header as `meta.json`.
 */
import * as path from 'node:path';
import { nd, writeNpz, type DType } from '../io/npz.ts';
import type { ReceivedEpisode } from './consumer.ts';

export function receivedFileName(ep: ReceivedEpisode): string {
  return `${String(ep.seq).padStart(6, '0')}-${ep.id.slice(0, 16)}.npz`;
}

/** Write `<dir>/<seq>-<id>.npz` atomically; returns the path. */
export function saveReceived(dir: string, ep: ReceivedEpisode): string {
  const file = path.join(dir, receivedFileName(ep));
  const arrays: Record<string, ReturnType<typeof nd>> = {};
  for (const [name, t] of Object.entries(ep.arrays)) arrays[name] = nd(t.data, t.shape, t.dtype.slice(1) as DType);
  const { tensors: _t, reports: _r, ...meta } = ep.header;
  writeNpz(file, { arrays, meta: { kind: 'reel2real-episode', ...meta, ...ep.reports } });
  return file;
}
