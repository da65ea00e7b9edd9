/**
 * Content ids of episodes: sha256 over canonical bytes, independent of how the files were encoded.
 *
 *   id = sha256( "reel2real-episode-v1\n"
 *              + canonicalJson(content) + "\n"                 content = provenance minus createdAt, quality,
 *                                                              validation, and which parts are present
 *              + for each part (track, motion, hand_motion, masks) present, in that order:
 *                  "part <name>\n" + canonicalJson(meta.json) + "\n"
 *                  + for each array, sorted by name:
 *                      canonicalJson({name, dtype, shape}) + "\n" + raw little-endian bytes )
 *
 * canonicalJson: JSON with object keys sorted, no whitespace, the JSON.stringify value rules (NaN → null,
 * undefined members dropped). So the same content always gives the same id, whatever the key order of the
 * objects it came from, and a reader can recompute the id from the files alone.
 */
import { createHash, type Hash } from 'node:crypto';
import type { NpzContent } from '../io/npz.ts';

export const EPISODE_PARTS = ['track', 'motion', 'hand_motion', 'masks'] as const;
export type EpisodePart = (typeof EPISODE_PARTS)[number];

/**
 * One JSON.stringify pass whose replacer hands over each object with its keys inserted in sorted order.
 * JSON.stringify applies toJSON before the replacer and unwraps Number/String/Boolean objects after it, so
 * those are left alone; the output is what stringify → parse → sort keys → stringify gives (the definition
 * above), in one pass instead of three (test/store/digest.test.ts checks the two agree).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value ?? null, sortedReplacer);
}

function sortedReplacer(_key: string, v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Number || v instanceof String || v instanceof Boolean) return v;
  const src = v as Record<string, unknown>;
  const keys = Object.keys(src).sort();
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = src[k];
  return out;
}

function hashNpz(h: Hash, part: string, c: NpzContent): void {
  h.update(`part ${part}\n`);
  h.update(canonicalJson(c.meta) + '\n');
  for (const name of Object.keys(c.arrays).sort()) {
    const a = c.arrays[name];
    h.update(canonicalJson({ name, dtype: a.dtype, shape: a.shape }) + '\n');
    h.update(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength));
  }
}

/** The content id of an episode given its hashed JSON content and its parts as decoded .npz contents. */
export function episodeId(content: Record<string, unknown>, parts: Partial<Record<EpisodePart, NpzContent>>): string {
  const h = createHash('sha256');
  h.update('reel2real-episode-v1\n');
  h.update(canonicalJson(content) + '\n');
  for (const p of EPISODE_PARTS) {
    const c = parts[p];
    if (c) hashNpz(h, p, c);
  }
  return h.digest('hex');
}
