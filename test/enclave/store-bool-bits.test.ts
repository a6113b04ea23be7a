/**
 * Bool slices re-packed to start on a byte before the store writes them
 * (src/enclave/store/chunk-bits.ts ownBits): every row keeps its value, whatever the slice's start
 * and length, and through Arrow's IPC writer the rows read back the same.
 */
import { Bool, makeData, makeVector, tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { tableFromBatches } from '../../src/data/columns.ts';
import { ownBits } from '../../src/enclave/store/chunk-bits.ts';
import { ipcParts } from '../../src/enclave/store/ipc-parts.ts';

/** A seeded bool column of `n` rows and its values. */
function column(n: number, seed: number): { values: boolean[]; bits: Uint8Array } {
  const bits = new Uint8Array((n + 7) >> 3);
  const values: boolean[] = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const b = (x >>> 16) % 2 === 1;
    values.push(b);
    if (b) bits[i >> 3] = (bits[i >> 3] as number) | (1 << (i & 7));
  }
  return { values, bits };
}

describe('ownBits on bool slices', () => {
  it('keeps every row of any slice, starting on a byte, bits past the end of a fresh bitmap zero', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const n = 1 + ((seed * 37) % 150);
      const { values, bits } = column(n, seed);
      const data = makeData({ type: new Bool(), length: n, nullCount: 0, data: bits });
      for (const from of [0, 1, 3, 7, 8, 9, Math.floor(n / 2), n - 1]) {
        if (from < 0 || from >= n) continue;
        for (const length of [0, 1, 5, 8, 13, n - from]) {
          if (length < 0 || from + length > n) continue;
          const slice = data.slice(from, length);
          const aligned = ownBits(slice);
          expect(aligned.offset % 8).toBe(0);
          const got = [...makeVector(aligned)];
          expect(got).toEqual(values.slice(from, from + length));
          const last = (aligned.values as Uint8Array).at(-1);
          if (aligned !== slice && length % 8 !== 0 && last !== undefined)
            expect(last >> (length % 8)).toBe(0);
        }
      }
    }
  });

  it('writes the same rows through the IPC writer as the unaligned slices', () => {
    const { values, bits } = column(1000, 7);
    const data = makeData({ type: new Bool(), length: 1000, nullCount: 0, data: bits });
    const parts = [data.slice(3, 500), data.slice(503, 497)];
    const table = tableFromBatches(
      ['b'],
      [{ type: 'bool' }],
      parts.map(ownBits).map((d) => ({ length: d.length, columns: [d] })),
    );
    const ipc = ipcParts(table);
    const back = tableFromIPC(Buffer.concat(ipc.parts));
    expect([...(back.getChild('b') ?? [])]).toEqual(values.slice(3));
  });
});
