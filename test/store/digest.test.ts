/**
 * Content ids must never change for the same content: canonicalJson (one stringify pass with a sorting
 * replacer) must give exactly what its definition (stringify → parse → sort keys → stringify) gives.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/store/digest.ts';
import { syntheticEpisode } from '../transport/fixtures/episodes.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';

/** The definition, written the slow way. */
function reference(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v as Record<string, unknown>).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
      return out;
    }
    return v;
  };
  return JSON.stringify(sortKeys(JSON.parse(JSON.stringify(value ?? null))));
}

class Point {
  constructor(readonly y: number, readonly x: number) {}
}

describe('canonicalJson', () => {
  it('agrees with its definition on real reports and tricky values', () => {
    const reports = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'benchmarks', 'transport', 'reports.json'), 'utf8'));
    const ep = syntheticEpisode(3, 1, 50).episode;
    const cases: unknown[] = [
      reports,
      { provenance: ep.provenance, quality: ep.quality, validation: ep.validation },
      { b: 1, a: { d: [3, { z: 1, y: 2 }], c: null }, '': 0 },
      { '10': 'ten', '9': 'nine', '1a': 1, B: 2, a: 3, é: 4, Z: 5, '-1': 6, '01': 7, '4294967295': 8, '4294967294': 9 },
      { x: undefined, y: () => 1, z: Symbol('s'), w: [undefined, () => 1, Symbol('t'), NaN, Infinity, -Infinity, -0] },
      { when: new Date(Date.UTC(2026, 10, 21)), n: new Number(3), s: new String('s'), t: new Boolean(false) },
      { custom: { toJSON: () => ({ q: 1, p: 2 }) }, nested: [[{ b: 2, a: 1 }], []] },
      { typed: new Float32Array([1.5, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), map: new Map([[1, 2]]), set: new Set([1]) },
      { point: new Point(2, 1), bare: Object.assign(Object.create(null), { b: 1, a: 2 }) },
      JSON.parse('{"__proto__": {"x": 1}, "b": 2, "a": {"__proto__": 3}}'),
      [3, 'x', null, true, { b: [], a: {} }],
      'text', 42, 0.1 + 0.2, null, undefined, true,
    ];
    for (const c of cases) expect(canonicalJson(c)).toBe(reference(c));
    // Sorted as the definition sorts: integer-like keys first in numeric order, then by UTF-16 code units.
    expect(canonicalJson({ b: 1, '10': 2, a: 3, '9': 4 })).toBe('{"9":4,"10":2,"a":3,"b":1}');
  });
});
