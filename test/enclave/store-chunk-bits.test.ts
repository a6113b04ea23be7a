/**
 * A store chunk's slice of a column keeps only its own rows' bits (chunk-bits.ts), so a
 * chunk's sealed size does not grow with the column it was sliced from, and it reads back
 * the same values and nulls.
 */
import { Bool, type Data, Float64, makeVector, tableFromIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { ownBits } from '../../src/enclave/store/chunk-bits.ts';
import { chunkTable } from '../../src/enclave/store/dictionary.ts';
import { ipcParts } from '../../src/enclave/store/ipc-parts.ts';

const ROWS = 20_000;
const columns = {
  bool: vectorFromArray(
    Array.from({ length: ROWS }, (_, i) => (i % 7 === 0 ? null : i % 3 === 0)),
    new Bool(),
  ),
  float64: vectorFromArray(
    Array.from({ length: ROWS }, (_, i) => (i % 5 === 0 ? null : i * 1.5)),
    new Float64(),
  ),
  string: vectorFromArray(
    Array.from({ length: ROWS }, (_, i) => (i % 11 === 0 ? null : `s${i}`)),
    new Utf8(),
  ),
};

describe('store chunk bits', () => {
  for (const [name, vector] of Object.entries(columns))
    it(`${name}: slices read back the same, their IPC sized by their own rows`, () => {
      for (const [at, n] of [
        [0, 131],
        [3, 200],
        [8, 64],
        [517, 483],
        [0, ROWS],
        [ROWS - 1000, 1000],
      ] as const) {
        const data: Data | undefined = vector.slice(at, at + n).data[0];
        if (!data) throw new Error('no data');
        const own = ownBits(data);
        expect(own.nullCount).toBe(data.nullCount);
        expect([...makeVector(own)]).toEqual([...makeVector(data)]);
        const bytes = ipcParts(chunkTable(name, [own])).parts.reduce((s, p) => s + p.byteLength, 0);
        // Values (at most 16 bytes a row for these) and metadata, not the whole column's bitmap.
        expect(bytes).toBeLessThan(1024 + n * 16);
        const back = tableFromIPC(Buffer.concat(ipcParts(chunkTable(name, [own])).parts));
        expect([...(back.getChildAt(0) ?? [])]).toEqual([...makeVector(data)]);
      }
    });
});
