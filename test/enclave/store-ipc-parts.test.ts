/**
 * The store seals a chunk's IPC stream range by range instead of joining it first: the
 * ranges must join to exactly what tableToIPC writes (for slices at any offset, with nulls,
 * of every column type), and the ranges sealed one after another must open as one piece.
 */
import { randomBytes } from 'node:crypto';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { tableFromBatches } from '../../src/data/columns.ts';
import { parseDataset } from '../../src/data/index.ts';
import { ipcParts } from '../../src/enclave/store/ipc-parts.ts';
import { openPiece, sealRanges } from '../../src/enclave/store/seal.ts';

const CSV = [
  's,i,f,b,d,t,n',
  ...Array.from(
    { length: 300 },
    (_, r) =>
      `${r % 7 ? `s${r}` : ''},${r % 5 ? r * 3 - 400 : ''},${r % 4 ? r / 8 : ''},${r % 3 ? r % 2 === 0 : ''},${r % 6 ? `2024-01-${String((r % 28) + 1).padStart(2, '0')}` : ''},2024-01-02T03:04:${String(r % 60).padStart(2, '0')},${r}`,
  ),
].join('\n');

describe('store chunks as IPC ranges', () => {
  it('join to what tableToIPC writes and seal to one piece', async () => {
    const data = await parseDataset(new TextEncoder().encode(CSV), 'csv');
    const key = randomBytes(32);
    const aad = Buffer.from('aad');
    for (const [c, spec] of data.schema.entries()) {
      const column = data.table.getChildAt(c);
      for (const [a, b] of [
        [0, 300],
        [3, 131],
        [8, 9],
        [299, 300],
      ] as const) {
        const parts = column?.slice(a, b).data ?? [];
        const table = tableFromBatches(
          [spec.name],
          [spec],
          parts.map((d) => ({ length: d.length, columns: [d] })),
        );
        const { parts: ranges } = ipcParts(table);
        const joined = Buffer.concat(ranges);
        expect(joined.equals(Buffer.from(tableToIPC(table, 'stream'))), `${spec.name} ${a}-${b}`).toBe(true);
        const opened = openPiece(key, aad, Buffer.concat(sealRanges(key, aad, ranges)));
        expect(opened?.equals(joined)).toBe(true);
        expect(
          tableFromIPC(opened as Buffer)
            .getChildAt(0)
            ?.toArray(),
        ).toEqual(column?.slice(a, b).toArray());
      }
    }
  });
});
