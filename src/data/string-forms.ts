/**
 * A plain string column's rows (Arrow Utf8: offsets and bytes) in DuckDB's 16-byte string
 * form (duckdb_string_t in duckdb.h), one vector at a time, in WebAssembly: a string of up
 * to 12 bytes inline (its length, its bytes, zeros), a longer one as its length, its first
 * 4 bytes and its address in one copy of the vector's bytes that DuckDB keeps
 * (data/duckdb-vectors.ts fillStrings). In JavaScript the same per-row work (a length
 * check, a byte-by-byte copy) cost ~0.026 CPU s of the enclave's thread in a cold
 * 1M ⨝ 1M join, on the query's critical path; `memory.copy` does a row's bytes at once.
 *
 * The function, in the WebAssembly text format (its bytes are below; wasm-module.ts makes
 * the module). `lo`/`hi` are the halves of the long strings' base address; it returns 1
 * when a row is over 12 bytes (its pointer is then `base + start`, so the caller runs it
 * again with the base once DuckDB has copied the bytes):
 *
 *   (func (export "forms") (param $n i32) (param $offs i32) (param $vals i32) (param $out i32)
 *       (param $lo i32) (param $hi i32) (result i32)
 *     (local $i i32) (local $start i32) (local $len i32) (local $o i32) (local $from i32) (local $long i32)
 *     (local.set $from (i32.load (local.get $offs)))
 *     (block $done
 *       (loop $row
 *         (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
 *         (local.set $start (i32.sub (i32.load (i32.add (local.get $offs) (i32.shl (local.get $i) (i32.const 2)))) (local.get $from)))
 *         (local.set $len (i32.sub (i32.load offset=4 (i32.add (local.get $offs) (i32.shl (local.get $i) (i32.const 2))))
 *                                  (i32.add (local.get $start) (local.get $from))))
 *         (local.set $o (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 4))))
 *         (i64.store (local.get $o) (i64.const 0))
 *         (i64.store offset=8 (local.get $o) (i64.const 0))
 *         (i32.store (local.get $o) (local.get $len))
 *         (if (i32.gt_u (local.get $len) (i32.const 12))
 *           (then
 *             (i32.store offset=4 (local.get $o) (i32.load (i32.add (local.get $vals) (local.get $start))))
 *             (i64.store offset=8 (local.get $o)
 *               (i64.add (i64.or (i64.shl (i64.extend_i32_u (local.get $hi)) (i64.const 32)) (i64.extend_i32_u (local.get $lo)))
 *                        (i64.extend_i32_u (local.get $start))))
 *             (local.set $long (i32.const 1)))
 *           (else
 *             (memory.copy (i32.add (local.get $o) (i32.const 4)) (i32.add (local.get $vals) (local.get $start)) (local.get $len))))
 *         (local.set $i (i32.add (local.get $i) (i32.const 1)))
 *         (br $row)))
 *     (local.get $long))
 *
 * Memory: the output (16 bytes a row) at 0, then the vector's n + 1 offsets, then its bytes.
 */
import { WASM_PAGE, type WasmMemory, wasmInstance } from './wasm-module.ts';

const [get, set] = [0x20, 0x21];
const offsetOf = [get, 1, get, 6, 0x41, 2, 0x74, 0x6a]; // offs + (i << 2)
const FORMS = {
  name: 'forms',
  params: 6,
  results: 1,
  body: [
    ...[0x01, 0x06, 0x7f], // six i32 locals: $i (6), $start (7), $len (8), $o (9), $from (10), $long (11)
    ...[get, 1, 0x28, 2, 0, set, 10], // from = load(offs)
    ...[0x02, 0x40, 0x03, 0x40], // block, loop
    ...[get, 6, get, 0, 0x4f, 0x0d, 1], // br_if $done (i >= n)
    ...[...offsetOf, 0x28, 2, 0, get, 10, 0x6b, set, 7], // start = load(offs + 4i) - from
    ...[...offsetOf, 0x28, 2, 4, get, 7, get, 10, 0x6a, 0x6b, set, 8], // len = load(offs + 4i + 4) - (start + from)
    ...[get, 3, get, 6, 0x41, 4, 0x74, 0x6a, set, 9], // o = out + (i << 4)
    ...[get, 9, 0x42, 0, 0x37, 3, 0], // i64.store o, 0
    ...[get, 9, 0x42, 0, 0x37, 3, 8], // i64.store o + 8, 0
    ...[get, 9, get, 8, 0x36, 2, 0], // i32.store o, len
    ...[get, 8, 0x41, 12, 0x4b, 0x04, 0x40], // if len > 12
    ...[get, 9, get, 2, get, 7, 0x6a, 0x28, 0, 0, 0x36, 2, 4], // i32.store o + 4, load(vals + start)
    ...[get, 9, get, 5, 0xad, 0x42, 32, 0x86, get, 4, 0xad, 0x84, get, 7, 0xad, 0x7c, 0x37, 3, 8], // i64.store o + 8, base + start
    ...[0x41, 1, set, 11], // long = 1
    0x05, // else
    ...[get, 9, 0x41, 4, 0x6a, get, 2, get, 7, 0x6a, get, 8, 0xfc, 0x0a, 0, 0], // memory.copy o + 4, vals + start, len
    0x0b, // end if
    ...[get, 6, 0x41, 1, 0x6a, set, 6], // i++
    ...[0x0c, 0, 0x0b, 0x0b], // br $row, end loop, end block
    ...[get, 11, 0x0b], // long, end func
  ],
};

type Forms = (n: number, offs: number, vals: number, out: number, lo: number, hi: number) => number;

/** One vector's worth of memory and the forms function over it. */
export interface StringFormer {
  /**
   * Load rows `[first, first + n)` of a Utf8 column (`offsets`, `values`; n at most the
   * vector size) and write their forms with long strings' base address 0; returns whether
   * a row is over 12 bytes.
   */
  load(offsets: Int32Array, values: Uint8Array, first: number, n: number): boolean;
  /** Write the loaded rows' forms again, long strings pointing from base `lo` + 2^32 × `hi`. */
  point(lo: number, hi: number): void;
  /** The loaded rows' forms: a view of the former's memory, valid until its next load. */
  rows(): Uint8Array;
  /** Zero the memory (it held rows' bytes): when the load or scan using it ends. */
  wipe(): void;
}

/** A string former for vectors of up to `size` rows (DuckDB's vector size). */
export function stringFormer(size: number): StringFormer {
  const offsAt = size * 16;
  const valsAt = offsAt + Math.ceil(((size + 1) * 4) / 16) * 16;
  const { run, memory } = wasmInstance<Forms>(FORMS, valsAt + WASM_PAGE);
  let mem = new Uint8Array(memory.buffer);
  let n = 0;
  return {
    load(offsets, values, first, count) {
      n = Math.min(count, size);
      const from = offsets[first] as number;
      const bytes = (offsets[first + n] as number) - from;
      // A vector of long strings grows the memory; it is kept for the next ones.
      if (valsAt + bytes > memory.buffer.byteLength) {
        memory.grow(Math.ceil((valsAt + bytes - memory.buffer.byteLength) / WASM_PAGE));
        mem = new Uint8Array((memory as WasmMemory).buffer);
      }
      new Int32Array(memory.buffer, offsAt, n + 1).set(offsets.subarray(first, first + n + 1));
      mem.set(values.subarray(from, from + bytes), valsAt);
      return run(n, offsAt, valsAt, 0, 0, 0) === 1;
    },
    point(lo, hi) {
      run(n, offsAt, valsAt, 0, lo, hi);
    },
    rows() {
      return mem.subarray(0, n * 16);
    },
    wipe() {
      mem.fill(0);
      n = 0;
    },
  };
}
