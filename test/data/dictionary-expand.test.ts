/**
 * A dictionary column's rows in DuckDB's 16-byte string form by WebAssembly
 * (src/data/dictionary-expand.ts): every row is its code's 16 table bytes, bit for bit
 * (bytes that would read as a NaN float too), codes past 127 included (read as unsigned
 * bytes), for vectors of any length up to the size, with a table changed between calls.
 */
import { describe, expect, it } from 'vitest';
import { dictionaryExpander } from '../../src/data/dictionary-expand.ts';

/** A deterministic byte stream (no Math.random: the same bytes every run). */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function expected(table: Uint8Array, codes: Uint8Array): Uint8Array {
  const out = new Uint8Array(codes.length * 16);
  for (const [i, c] of codes.entries()) out.set(table.subarray(c * 16, c * 16 + 16), i * 16);
  return out;
}

/** Byte equality (a deep equal of 32 KiB arrays is slow in the test runner). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

describe('dictionary expansion', () => {
  it('copies each code’s 16 bytes, for any vector length and table', () => {
    const size = 2048;
    const expander = dictionaryExpander(size);
    const nan = new Uint8Array(256 * 16);
    // Signalling NaN bit patterns (as doubles) in every entry: copied as they are.
    const view = new DataView(nan.buffer);
    for (let e = 0; e < 256; e++) {
      view.setUint32(e * 16 + 4, 0x7ff00001 + e, true);
      view.setUint32(e * 16 + 12, 0xfff00001 + e, true);
    }
    for (const [seed, table] of [
      [1, bytes(256 * 16, 7)],
      [2, nan],
      [3, bytes(256 * 16, 9)],
    ] as const) {
      for (const n of [0, 1, 17, 2047, size]) {
        const codes = bytes(n, seed + n);
        expect(same(expander.expand(table, codes), expected(table, codes))).toBe(true);
      }
    }
  });

  it('takes at most the vector size of rows, and a second expander has its own memory', () => {
    const a = dictionaryExpander(64);
    const b = dictionaryExpander(4096);
    const table = bytes(256 * 16, 3);
    const codes = bytes(4096, 5);
    expect(a.expand(table, codes).length).toBe(64 * 16);
    const fromB = Uint8Array.from(b.expand(table, codes));
    expect(same(fromB, expected(table, codes))).toBe(true);
    a.expand(bytes(256 * 16, 4), codes);
    expect(same(b.expand(table, codes), fromB)).toBe(true);
  });

  it('wipes its memory: the table and rows it held read as zeros after wipe, and a new table loads', () => {
    const expander = dictionaryExpander(64);
    const table = bytes(256 * 16, 7);
    const codes = bytes(64, 8);
    const view = expander.expand(table, codes);
    expect(view.some((b) => b !== 0)).toBe(true);
    expander.wipe();
    expect(view.every((b) => b === 0)).toBe(true);
    // The same table object is loaded again after a wipe, not taken as still loaded.
    expect(same(expander.expand(table, codes), expected(table, codes))).toBe(true);
  });
});
