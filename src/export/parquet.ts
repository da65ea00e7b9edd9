/**
 * Writing parquet tables the way pyarrow/`datasets` write them, with hyparquet-writer (pure JS):
 * explicit schemas, list columns in the standard 3-level LIST layout (`<name> (LIST) / list / element`),
 * which pyarrow reads as `list<element: T>` and `datasets` casts to `Sequence(length=n)` features.
 */
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';

export type ColumnKind = 'float32' | 'float64' | 'int64' | 'bool' | 'string' | 'list<float32>' | 'list<float64>' | 'list<int64>' | 'list<string>';

export interface Column {
  name: string;
  kind: ColumnKind;
  /**
   * Scalar columns: one value per row (typed array or array). Fixed-width numeric list columns: a flat typed
   * array of rows × width values with `width` set. Other list columns: an array of arrays.
   */
  data: ArrayLike<unknown>;
  width?: number;
}

const LEAF: Record<string, Pick<SchemaElement, 'type' | 'converted_type'>> = {
  float32: { type: 'FLOAT' },
  float64: { type: 'DOUBLE' },
  int64: { type: 'INT64' },
  bool: { type: 'BOOLEAN' },
  string: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
};

function schemaFor(cols: Column[]): SchemaElement[] {
  const out: SchemaElement[] = [{ name: 'schema', num_children: cols.length }];
  for (const c of cols) {
    if (c.kind.startsWith('list<')) {
      const inner = c.kind.slice(5, -1);
      out.push({ name: c.name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 });
      out.push({ name: 'list', repetition_type: 'REPEATED', num_children: 1 });
      out.push({ name: 'element', repetition_type: 'OPTIONAL', ...LEAF[inner] });
    } else {
      out.push({ name: c.name, repetition_type: 'OPTIONAL', ...LEAF[c.kind] });
    }
  }
  return out;
}

function rowsOf(c: Column, nRows: number): ArrayLike<unknown> {
  if (c.kind.startsWith('list<') && c.width !== undefined) {
    const w = c.width;
    const flat = c.data as ArrayLike<number | bigint>;
    if (flat.length !== nRows * w) throw new Error(`column ${c.name}: ${flat.length} values for ${nRows} rows of ${w}`);
    const rows: unknown[][] = new Array(nRows);
    for (let r = 0; r < nRows; r++) {
      const row = new Array(w);
      for (let k = 0; k < w; k++) row[k] = flat[r * w + k];
      rows[r] = row;
    }
    return rows;
  }
  if (c.kind === 'int64' && !(c.data instanceof BigInt64Array)) {
    return BigInt64Array.from(Array.from(c.data as ArrayLike<number | bigint>, (v) => BigInt(v)));
  }
  if (c.kind === 'list<int64>') {
    return Array.from(c.data as ArrayLike<ArrayLike<number | bigint>>, (row) => Array.from(row, (v) => BigInt(v)));
  }
  return c.data;
}

export function columnRows(c: Column): number {
  return c.width !== undefined ? c.data.length / c.width : c.data.length;
}

/**
 * Encode columns as one parquet file. `rowGroups` gives the row count of each row group (e.g. one per
 * episode, as LeRobot writes); `kv` adds key/value metadata (e.g. pandas' index description).
 */
export function encodeParquet(cols: Column[], opts: { rowGroups?: number[]; kv?: Record<string, string> } = {}): Uint8Array {
  const nRows = cols.length ? columnRows(cols[0]) : 0;
  for (const c of cols) {
    if (columnRows(c) !== nRows) throw new Error(`column ${c.name} has ${columnRows(c)} rows, expected ${nRows}`);
  }
  let rowGroupSize: number | number[] = Math.max(1, nRows);
  if (opts.rowGroups && opts.rowGroups.length) {
    // hyparquet-writer repeats the last size; append the total so nothing after the listed groups splits.
    rowGroupSize = [...opts.rowGroups.map((n) => Math.max(1, n)), Math.max(1, nRows)];
  }
  const buf = parquetWriteBuffer({
    // Float columns are written PLAIN: continuous values rarely repeat, so trying a dictionary costs time
    // and saves nothing. Integer and string columns keep the writer's dictionary choice.
    columnData: cols.map((c) => ({
      name: c.name, data: rowsOf(c, nRows) as never, ...(/float/.test(c.kind) ? { encoding: 'PLAIN' as const } : {}),
    })),
    schema: schemaFor(cols),
    rowGroupSize,
    kvMetadata: opts.kv ? Object.entries(opts.kv).map(([key, value]) => ({ key, value })) : undefined,
    createdBy: 'reel2real (hyparquet-writer)',
  });
  return new Uint8Array(buf);
}
