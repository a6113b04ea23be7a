/**
 * Arrow IPC parsing (file and stream formats) and normalisation of non-normalised Arrow
 * types, with tables built by apache-arrow.
 */
import {
  DateMillisecond,
  Dictionary,
  Float32,
  Int8,
  Int32,
  LargeUtf8,
  List,
  Field,
  makeData,
  makeVector,
  Table,
  tableToIPC,
  TimestampNanosecond,
  TimestampSecond,
  Uint64,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { parseDataset } from '../../src/data/index.ts';
import { caught, column } from './helpers.ts';

function sample(): Table {
  return new Table({
    tiny: vectorFromArray([1, -2, null], new Int8()),
    big: vectorFromArray([1n, 2n ** 62n, null], new Uint64()),
    f32: vectorFromArray([0.5, null, -1.25], new Float32()),
    dict: vectorFromArray(['north', 'south', 'north'], new Dictionary(new Utf8(), new Int32())),
    large: vectorFromArray(['a', null, 'ccc'], new LargeUtf8()),
    day: vectorFromArray([new Date(Date.UTC(2024, 1, 29)), null, new Date(0)], new DateMillisecond()),
    secs: makeVector(
      makeData({
        type: new TimestampSecond('Europe/Paris'),
        length: 3,
        nullCount: 0,
        data: new BigInt64Array([0n, 60n, -1n]),
      }),
    ),
    nanos: makeVector(
      makeData({
        type: new TimestampNanosecond(),
        length: 3,
        nullCount: 0,
        data: new BigInt64Array([1_999n, -1n, 5_000_000n]),
      }),
    ),
  });
}

describe('Arrow IPC', () => {
  for (const format of ['file', 'stream'] as const) {
    it(`reads the ${format} format and normalises types`, async () => {
      const d = await parseDataset(tableToIPC(sample(), format), 'arrow');
      expect(d.rows).toBe(3);
      expect(d.schema.map((c) => c.type)).toEqual([
        'int32',
        'int64',
        'float64',
        'string',
        'string',
        'date',
        'timestamp',
        'timestamp',
      ]);
      expect(column(d.table, 'tiny')).toEqual([1, -2, null]);
      expect(column(d.table, 'big')).toEqual([1n, 2n ** 62n, null]);
      expect(column(d.table, 'f32')).toEqual([0.5, null, -1.25]);
      expect(column(d.table, 'dict')).toEqual(['north', 'south', 'north']);
      expect(column(d.table, 'large')).toEqual(['a', null, 'ccc']);
      expect(column(d.table, 'day')).toEqual([Date.UTC(2024, 1, 29), null, 0]);
      expect(Array.from(d.table.getChild('secs')?.data[0]?.values as BigInt64Array)).toEqual([
        0n,
        60_000_000n,
        -1_000_000n,
      ]);
      expect(Array.from(d.table.getChild('nanos')?.data[0]?.values as BigInt64Array)).toEqual([
        1n,
        -1n,
        5000n,
      ]);
    });
  }

  it('keeps several record batches and never aliases the input', async () => {
    const t = new Table({ n: vectorFromArray([1, 2, 3], new Int32()) }).concat(
      new Table({ n: vectorFromArray([4, 5], new Int32()) }),
    );
    const bytes = Buffer.from(tableToIPC(t, 'stream')); // a Buffer, like decrypted plaintext
    const d = await parseDataset(bytes, 'arrow');
    bytes.fill(0);
    expect(d.table.batches.length).toBe(2);
    expect(column(d.table, 'n')).toEqual([1, 2, 3, 4, 5]);
  });

  it('refuses unsupported types, values out of range, invalid UTF-8 and garbage', async () => {
    const list = new Table({ xs: vectorFromArray([[1], [2, 3]], new List(new Field('item', new Int32()))) });
    expect((await caught(() => parseDataset(tableToIPC(list), 'arrow'), 'dataset_invalid')).details).toEqual({
      column: 'xs',
    });
    const huge = new Table({ u: vectorFromArray([2n ** 64n - 1n], new Uint64()) });
    await caught(() => parseDataset(tableToIPC(huge), 'arrow'), 'dataset_invalid');
    const bad = makeData({
      type: new Utf8(),
      length: 1,
      nullCount: 0,
      valueOffsets: new Int32Array([0, 2]),
      data: new Uint8Array([0xc3, 0x28]),
    });
    await caught(
      () => parseDataset(tableToIPC(new Table({ s: makeVector(bad) })), 'arrow'),
      'dataset_invalid',
    );
    await caught(
      () => parseDataset(new TextEncoder().encode('ARROW1 but not really'), 'arrow'),
      'dataset_invalid',
    );
  });
});
