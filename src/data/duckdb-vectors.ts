/**
 * Copying Arrow columns into DuckDB vectors without per-value calls: fixed-width columns are
 * one memcpy per vector, validity bitmaps too (Arrow's and DuckDB's share the LSB-first bit
 * layout); strings of up to 12 bytes are written in DuckDB's inline `string_t` form
 * (4-byte length + bytes, zero-padded to 16) in bulk, longer ones one call each. Shared by
 * the appender load (duckdb-load.ts) and the table-function scan (duckdb-scan.ts).
 */
import duckdb, { type Vector } from '@duckdb/node-bindings';
import type { Data } from 'apache-arrow';
import type { ColumnType } from './schema.ts';

const INLINE = 12;

const WIDTH: Partial<Record<ColumnType, number>> = { int32: 4, date: 4, int64: 8, timestamp: 8, float64: 8 };

/** Reused per-load buffers, sized for one vector. */
export interface Scratch {
  strings: Uint8Array;
  view: DataView;
  bools: Uint8Array;
  validity: Uint8Array;
  /** All bits set: the validity of a vector whose rows are all valid. */
  allValid: Uint8Array;
}

/** Scratch buffers for vectors of `size` rows (DuckDB's vector size). */
export function vectorScratch(size: number): Scratch {
  const strings = new Uint8Array(size * 16);
  return {
    strings,
    view: new DataView(strings.buffer),
    bools: new Uint8Array(size),
    validity: new Uint8Array(size / 8),
    allValid: new Uint8Array(size / 8).fill(0xff),
  };
}

/**
 * Copy rows `[r, r + n)` of one Arrow column into a DuckDB vector. As in apache-arrow, a
 * Data's `offset` counts in bits for validity and booleans only; fixed-width values and
 * string offsets are already sliced to it.
 */
export function fillVector(
  vector: Vector,
  type: ColumnType,
  data: Data,
  r: number,
  n: number,
  s: Scratch,
): void {
  const first = data.offset + r;
  const width = WIDTH[type];
  if (width !== undefined) {
    const values = data.values as Int32Array;
    duckdb.copy_data_to_vector(
      vector,
      0,
      values.buffer as ArrayBuffer,
      values.byteOffset + r * width,
      n * width,
    );
  } else if (type === 'bool') {
    const bits = data.values as Uint8Array;
    for (let i = 0; i < n; i++) {
      const b = first + i;
      s.bools[i] = ((bits[b >> 3] as number) >> (b & 7)) & 1;
    }
    duckdb.copy_data_to_vector(vector, 0, s.bools.buffer as ArrayBuffer, 0, n);
  } else {
    fillStrings(vector, data, r, n, s);
  }
  if (data.nullCount > 0 && data.nullBitmap) {
    const bitmap = data.nullBitmap;
    const bytes = Math.ceil(n / 8);
    if ((first & 7) === 0) {
      s.validity.set(bitmap.subarray(first >> 3, (first >> 3) + bytes));
    } else {
      s.validity.fill(0, 0, bytes);
      for (let i = 0; i < n; i++) {
        const b = first + i;
        if (((bitmap[b >> 3] as number) >> (b & 7)) & 1)
          s.validity[i >> 3] = (s.validity[i >> 3] as number) | (1 << (i & 7));
      }
    }
    duckdb.vector_ensure_validity_writable(vector);
    duckdb.copy_data_to_vector_validity(
      vector,
      0,
      s.validity.buffer as ArrayBuffer,
      0,
      Math.ceil(n / 64) * 8,
    );
  }
}

/** Strings from row `first` of the (already sliced) offsets: short ones inline in one bulk copy, long ones one by one. */
function fillStrings(vector: Vector, data: Data, first: number, n: number, s: Scratch): void {
  const offsets = data.valueOffsets as Int32Array;
  const values = data.values as Uint8Array;
  const out = s.strings;
  out.fill(0, 0, n * 16);
  const long: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = offsets[first + i] as number;
    const len = (offsets[first + i + 1] as number) - start;
    if (len > INLINE) {
      long.push(i);
      continue;
    }
    const base = i * 16;
    s.view.setUint32(base, len, true);
    for (let k = 0; k < len; k++) out[base + 4 + k] = values[start + k] as number;
  }
  duckdb.copy_data_to_vector(vector, 0, out.buffer as ArrayBuffer, 0, n * 16);
  for (const i of long) {
    duckdb.vector_assign_string_element_len(
      vector,
      i,
      values.subarray(offsets[first + i] as number, offsets[first + i + 1] as number),
    );
  }
}
