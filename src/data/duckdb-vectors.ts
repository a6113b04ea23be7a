/**
 * Copying Arrow columns into DuckDB vectors without per-value calls: fixed-width columns are
 * one memcpy per vector, validity bitmaps too (Arrow's and DuckDB's share the LSB-first bit
 * layout); strings of up to 12 bytes are written in DuckDB's inline `string_t` form
 * (4-byte length + bytes, zero-padded to 16) in bulk, longer ones pointing into one copy of
 * the vector's bytes in DuckDB's string heap (fillStrings). Shared by
 * the appender load (duckdb-load.ts) and the table-function scan (duckdb-scan.ts).
 */
import duckdb, { type Vector } from '@duckdb/node-bindings';
import { type Data, Type, type Vector as ArrowVector } from 'apache-arrow';
import { type DictionaryExpander, dictionaryExpander } from './dictionary-expand.ts';
import { type ColumnType, FIXED_WIDTH } from './schema.ts';
import { type StringFormer, stringFormer } from './string-forms.ts';

const INLINE = 12;

/** Reused per-load buffers, sized for one vector. */
export interface Scratch {
  /** A dictionary column's rows in DuckDB's string form (dictionary-expand.ts). */
  expander: DictionaryExpander;
  /** A plain string column's rows in DuckDB's string form (string-forms.ts). */
  former: StringFormer;
  bools: Uint8Array;
  validity: Uint8Array;
  /** All bits set: the validity of a vector whose rows are all valid. */
  allValid: Uint8Array;
}

/** Scratch buffers for vectors of `size` rows (DuckDB's vector size). */
export function vectorScratch(size: number): Scratch {
  return {
    expander: dictionaryExpander(size),
    former: stringFormer(size),
    bools: new Uint8Array(size),
    validity: new Uint8Array(size / 8),
    allValid: new Uint8Array(size / 8).fill(0xff),
  };
}

/**
 * Zero a load's or scan's scratch when it ends: it held rows' values (booleans, strings in
 * DuckDB's form, a dictionary), and plaintext is wiped where the enclave stops using it
 * rather than left to the collector.
 */
export function wipeScratch(s: Scratch): void {
  s.expander.wipe();
  s.former.wipe();
  s.bools.fill(0);
  s.validity.fill(0);
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
  const width = FIXED_WIDTH[type];
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
  } else if (data.type.typeId === Type.Dictionary) {
    fillDictionary(vector, data, r, n, s);
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

/**
 * Strings from row `first` of the (already sliced) offsets, in DuckDB's form
 * (string-forms.ts, in WebAssembly): short ones inline, in one bulk copy. Long ones (over
 * 12 bytes) point into one copy of the vector's string bytes that DuckDB keeps with the
 * vector: the bytes are handed over as one string (DuckDB copies it into the vector's
 * string heap), whose address DuckDB's own string_t then gives, and each long row's
 * string_t (duckdb_string_t in duckdb.h: length, its first 4 bytes, pointer) is written
 * beside the short ones. One call per vector instead of one per long string (measured:
 * 2M strings of 14 bytes, a join's two id columns, 0.35 CPU s a job).
 */
function fillStrings(vector: Vector, data: Data, first: number, n: number, s: Scratch): void {
  const offsets = data.valueOffsets as Int32Array;
  const values = data.values as Uint8Array;
  const former = s.former;
  if (former.load(offsets, values, first, n)) {
    const from = offsets[first] as number;
    duckdb.vector_assign_string_element_len(vector, 0, values.subarray(from, offsets[first + n] as number));
    // The heap copy's address as two 32-bit halves (little-endian, as x64 and arm64 are).
    const head = duckdb.vector_get_data(vector, 16);
    const view = new DataView(head.buffer, head.byteOffset, 16);
    former.point(view.getUint32(8, true), view.getUint32(12, true));
  }
  const rows = former.rows();
  duckdb.copy_data_to_vector(vector, 0, rows.buffer as ArrayBuffer, rows.byteOffset, n * 16);
}

/**
 * A dictionary's entries as DuckDB string_t bytes, 16 per possible Int8 index read as a
 * byte (0-255): an index that is negative, past the entries, or of an entry too long to
 * inline has zero bytes (an empty string), so the per-row copy has no branch. `long` marks
 * the entries over 12 bytes, `anyLong` whether there is one.
 */
interface DictionaryForm {
  table: Uint8Array;
  long: boolean[];
  anyLong: boolean;
}

// Per dictionary (shared by the parts of a store chunk): built on first use, dropped with it.
const forms = new WeakMap<ArrowVector, DictionaryForm>();

function dictionaryForm(dictionary: ArrowVector): DictionaryForm {
  let form = forms.get(dictionary);
  if (form) return form;
  const bytes = new Uint8Array(256 * 16);
  const view = new DataView(bytes.buffer);
  const long: boolean[] = [];
  for (const data of dictionary.data) {
    const offsets = data.valueOffsets as Int32Array;
    const values = data.values as Uint8Array;
    for (let k = 0; k < data.length; k++) {
      const start = offsets[k] as number;
      const len = (offsets[k + 1] as number) - start;
      const c = long.length;
      long.push(len > INLINE);
      // Indices are Int8: entries past 127 are never read (and would alias the negatives).
      if (len > INLINE || c > 127) continue;
      view.setUint32(c * 16, len, true);
      bytes.set(values.subarray(start, start + len), c * 16 + 4);
    }
  }
  form = { table: bytes, long, anyLong: long.includes(true) };
  forms.set(dictionary, form);
  return form;
}

/**
 * Strings of a dictionary-encoded column (Int8 indices, enclave/store/dictionary.ts): each
 * row's string_t is its entry's, copied from a table with no branch per row, in
 * WebAssembly (dictionary-expand.ts); entries over 12 bytes one call each. A null row
 * gets its index's entry under its cleared validity bit.
 */
function fillDictionary(vector: Vector, data: Data, first: number, n: number, s: Scratch): void {
  const dictionary = data.dictionary as ArrowVector;
  const { table, long, anyLong } = dictionaryForm(dictionary);
  const entries = long.length;
  const indices = data.values as Int8Array;
  const rows = s.expander.expand(table, new Uint8Array(indices.buffer, indices.byteOffset + first, n));
  duckdb.copy_data_to_vector(vector, 0, rows.buffer as ArrayBuffer, rows.byteOffset, n * 16);
  if (!anyLong) return;
  for (let i = 0; i < n; i++) {
    const c = indices[first + i] as number;
    if (c < 0 || c >= entries || !long[c]) continue;
    // A long entry's bytes, read through Arrow (rare: an entry over 12 bytes).
    const value = dictionary.get(c) as string;
    duckdb.vector_assign_string_element_len(vector, i, Buffer.from(value, 'utf8'));
  }
}
