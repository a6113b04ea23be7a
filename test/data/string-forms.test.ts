/**
 * A plain string column's rows in DuckDB's 16-byte string form by WebAssembly
 * (src/data/string-forms.ts): a string of up to 12 bytes inline and zero-padded, a longer
 * one as its length, first 4 bytes and base + its offset in the vector's bytes (the carry
 * into the high half included), from any first row and for vectors of any length up to
 * the size, long ones growing the memory; the same forms the JavaScript copy wrote.
 */
import { describe, expect, it } from 'vitest';
import { stringFormer } from '../../src/data/string-forms.ts';

/** A Utf8 column of `count` strings of deterministic lengths 0-40 (some multi-byte). */
function column(count: number, long = 40): { offsets: Int32Array; values: Uint8Array } {
  const parts: Buffer[] = [];
  const offsets = new Int32Array(count + 1);
  for (let i = 0; i < count; i++) {
    const len = (i * 7919) % (long + 1);
    const s = Buffer.from(`${i % 3 === 0 ? 'ü' : 'x'}${String(i).repeat(40)}`.slice(0, len), 'utf8');
    parts.push(s.subarray(0, len));
    offsets[i + 1] = (offsets[i] as number) + Math.min(len, s.length);
  }
  return { offsets, values: Buffer.concat(parts) };
}

/** DuckDB's form of rows [first, first + n), long ones from base `lo` + 2^32 × `hi`. */
function expected(c: ReturnType<typeof column>, first: number, n: number, lo: number, hi: number): Buffer {
  const out = Buffer.alloc(n * 16);
  const from = c.offsets[first] as number;
  const base = BigInt(hi) * 2n ** 32n + BigInt(lo);
  for (let i = 0; i < n; i++) {
    const start = c.offsets[first + i] as number;
    const len = (c.offsets[first + i + 1] as number) - start;
    out.writeUInt32LE(len, i * 16);
    if (len <= 12) Buffer.from(c.values.subarray(start, start + len)).copy(out, i * 16 + 4);
    else {
      Buffer.from(c.values.subarray(start, start + 4)).copy(out, i * 16 + 4);
      out.writeBigUInt64LE(base + BigInt(start - from), i * 16 + 8);
    }
  }
  return out;
}

const same = (a: Uint8Array, b: Buffer) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);

describe('string forms', () => {
  it('write short strings inline and long ones as pointers from the base', () => {
    const c = column(5000);
    const former = stringFormer(2048);
    for (const [first, n] of [
      [0, 0],
      [0, 1],
      [17, 2048],
      [2900, 2048],
      [4999, 1],
    ] as const) {
      const long = former.load(c.offsets, c.values, first, n);
      const lengths = Array.from(
        { length: n },
        (_, i) => (c.offsets[first + i + 1] as number) - (c.offsets[first + i] as number),
      );
      expect(long).toBe(lengths.some((l) => l > 12));
      expect(same(former.rows(), expected(c, first, n, 0, 0))).toBe(true);
      for (const [lo, hi] of [
        [0x1000, 0x7f12],
        [0xffff_fff0, 0x7f12],
      ] as const) {
        former.point(lo, hi);
        expect(same(former.rows(), expected(c, first, n, lo, hi))).toBe(true);
      }
    }
  });

  it('takes a vector of short strings only as inline, and grows for a vector of long ones', () => {
    const short = column(3000, 12);
    const former = stringFormer(2048);
    expect(former.load(short.offsets, short.values, 5, 2048)).toBe(false);
    expect(same(former.rows(), expected(short, 5, 2048, 0, 0))).toBe(true);
    const big = { offsets: new Int32Array(2049), values: new Uint8Array(2048 * 100).fill(0x61) };
    for (let i = 0; i <= 2048; i++) big.offsets[i] = i * 100;
    expect(former.load(big.offsets, big.values, 0, 2048)).toBe(true);
    former.point(64, 1);
    expect(same(former.rows(), expected(big, 0, 2048, 64, 1))).toBe(true);
  });

  it('wipes its memory: the rows it held read as zeros after wipe', () => {
    const big = { offsets: new Int32Array(2049), values: new Uint8Array(2048 * 100).fill(0x61) };
    for (let i = 0; i <= 2048; i++) big.offsets[i] = i * 100;
    const former = stringFormer(2048);
    former.load(big.offsets, big.values, 0, 2048);
    const view = former.rows();
    expect(view.some((b) => b !== 0)).toBe(true);
    former.wipe();
    expect(view.every((b) => b === 0)).toBe(true);
    expect(former.rows().length).toBe(0);
  });
});
