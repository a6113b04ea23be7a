/**
 * A dictionary column's rows in DuckDB's 16-byte string form, one vector at a time, by a
 * few lines of WebAssembly: per row, its code's 16 bytes copied from a 256-entry table as
 * two 64-bit words. The same copy in JavaScript (four 32-bit words a row from typed
 * arrays, data/duckdb-vectors.ts fillDictionary before this) cost ~0.055 CPU s of the
 * enclave's thread for a cold 10M-row job's 5-valued region column, on the query's
 * critical path (DuckDB waits for each vector); here it is a fraction of that. The table,
 * the vector's codes and its output all live in one small memory that stays in the cache,
 * reused for every vector of a scan.
 *
 * The function, in the WebAssembly text format (its bytes are below; wasm-module.ts makes
 * the module):
 *
 *   (module
 *     (memory (export "memory") 1)
 *     (func (export "expand") (param $n i32) (param $codes i32) (param $out i32)
 *       (local $i i32) (local $e i32) (local $o i32)
 *       (block $done
 *         (loop $row
 *           (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
 *           (local.set $e (i32.shl (i32.load8_u (i32.add (local.get $codes) (local.get $i))) (i32.const 4)))
 *           (local.set $o (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 4))))
 *           (i64.store (local.get $o) (i64.load (local.get $e)))
 *           (i64.store offset=8 (local.get $o) (i64.load offset=8 (local.get $e)))
 *           (local.set $i (i32.add (local.get $i) (i32.const 1)))
 *           (br $row)))))
 *
 * The table sits at byte 0 (256 entries of 16 bytes: a code is read as an unsigned byte),
 * then the vector's codes, then its output. 64-bit integer loads and stores copy bits
 * as they are (no float canonicalisation).
 */

import { wasmInstance } from './wasm-module.ts';

/** One vector's worth of memory and the expand function over it. */
export interface DictionaryExpander {
  /**
   * The rows of `codes` (one byte each, at most the vector size) as 16-byte strings from
   * `table` (256 × 16 bytes: the dictionary's entries, data/duckdb-vectors.ts), returned as
   * a view of the expander's memory valid until its next call.
   */
  expand(table: Uint8Array, codes: Uint8Array): Uint8Array;
  /** Zero the memory (it held a dictionary's values and rows): when the load or scan using it ends. */
  wipe(): void;
}

const TABLE_BYTES = 256 * 16;

const [get, set] = [0x20, 0x21];
const EXPAND = {
  name: 'expand',
  params: 3,
  results: 0,
  body: [
    ...[0x01, 0x03, 0x7f], // three i32 locals: $i (3), $e (4), $o (5)
    ...[0x02, 0x40, 0x03, 0x40], // block, loop
    ...[get, 3, get, 0, 0x4f, 0x0d, 1], // br_if $done (i >= n)
    ...[get, 1, get, 3, 0x6a, 0x2d, 0, 0, 0x41, 4, 0x74, set, 4], // e = load8_u(codes + i) << 4
    ...[get, 2, get, 3, 0x41, 4, 0x74, 0x6a, set, 5], // o = out + (i << 4)
    ...[get, 5, get, 4, 0x29, 3, 0, 0x37, 3, 0], // i64.store o, i64.load e
    ...[get, 5, get, 4, 0x29, 3, 8, 0x37, 3, 8], // the same 8 bytes on
    ...[get, 3, 0x41, 1, 0x6a, set, 3], // i++
    ...[0x0c, 0, 0x0b, 0x0b, 0x0b], // br $row, end loop, end block, end func
  ],
};

/** An expander for vectors of up to `size` rows (DuckDB's vector size). */
export function dictionaryExpander(size: number): DictionaryExpander {
  const codesAt = TABLE_BYTES;
  const outAt = codesAt + Math.ceil(size / 16) * 16;
  const { run, memory } = wasmInstance<(n: number, codes: number, out: number) => void>(
    EXPAND,
    outAt + size * 16,
  );
  const mem = new Uint8Array(memory.buffer);
  let loaded: Uint8Array | undefined;
  return {
    expand(table, codes) {
      const n = Math.min(codes.length, size);
      // A scan's vectors mostly share their chunk's dictionary: its table is loaded once.
      if (loaded !== table) {
        mem.set(table.subarray(0, TABLE_BYTES), 0);
        loaded = table;
      }
      mem.set(codes.subarray(0, n), codesAt);
      run(n, codesAt, outAt);
      return mem.subarray(outAt, outAt + n * 16);
    },
    wipe() {
      mem.fill(0);
      loaded = undefined;
    },
  };
}
