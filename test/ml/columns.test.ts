/**
 * Arrow columns as model inputs (src/ml/columns.ts): numbers and booleans copied from the
 * Arrow buffers into a Float64Array with NaN where a value is missing — equal, value for
 * value, to reading the vector one value at a time — across several record batches and
 * sliced vectors (non-zero offsets), and other types passed through the fallback.
 */
import { makeVector, type Vector, vectorFromArray } from 'apache-arrow';
import { Bool, Float64, Int32, Int64, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { modelColumn } from '../../src/ml/columns.ts';

/** What reading the vector value by value gives, in the typed column's terms. */
function oneByOne(v: Vector): number[] {
  return Array.from(v, (x) => (x === null ? Number.NaN : typeof x === 'boolean' ? (x ? 1 : 0) : Number(x)));
}

const id = (v: unknown) => v;

describe('modelColumn', () => {
  const cases: [string, Vector][] = [
    ['float64', vectorFromArray([1.5, null, -2.25, 0, null, 1e300], new Float64())],
    ['int32', vectorFromArray([7, null, -3, 2147483647, null], new Int32())],
    ['int64', vectorFromArray([7n, null, -(2n ** 60n), 2n ** 53n + 2n], new Int64())],
    [
      'bool',
      vectorFromArray([true, false, null, true, true, false, false, true, null, true, false], new Bool()),
    ],
  ];

  for (const [type, vector] of cases) {
    it(`copies a ${type} column with its nulls as NaN`, () => {
      const out = modelColumn(vector, type, vector.length, id);
      expect(out).toBeInstanceOf(Float64Array);
      expect(Array.from(out as Float64Array)).toEqual(oneByOne(vector));
      expect(Number.isNaN((out as Float64Array)[1]) || Number.isNaN((out as Float64Array)[2])).toBe(true);
    });

    it(`copies a ${type} column split into batches and sliced at an odd offset`, () => {
      const joined = vector.concat(vector, vector) as Vector;
      const sliced = joined.slice(3, joined.length - 2);
      expect(sliced.data.length).toBeGreaterThan(1);
      expect(sliced.data.some((d) => d.offset > 0)).toBe(true);
      expect(Array.from(modelColumn(sliced, type, sliced.length, id) as Float64Array)).toEqual(
        oneByOne(sliced),
      );
    });
  }

  it('pads a short or absent column with missing values', () => {
    const v = vectorFromArray([1, 2], new Float64());
    expect(Array.from(modelColumn(v, 'float64', 4, id) as Float64Array)).toEqual([
      1,
      2,
      Number.NaN,
      Number.NaN,
    ]);
    expect(Array.from(modelColumn(undefined, 'bool', 2, id) as Float64Array)).toEqual([
      Number.NaN,
      Number.NaN,
    ]);
  });

  it('passes other types through the fallback, in order, padding with fallback(null)', () => {
    const v = vectorFromArray(['a', null, 'c'], new Utf8());
    const seen: unknown[] = [];
    const out = modelColumn(v, 'string', 4, (x) => {
      seen.push(x);
      return x === null ? 'none' : String(x).toUpperCase();
    });
    expect(Array.from(out)).toEqual(['A', 'none', 'C', 'none']);
    expect(seen).toEqual(['a', null, 'c', null]);
  });

  it('reads a bool column whose bits start mid-byte', () => {
    const bits = makeVector({
      type: new Bool(),
      length: 5,
      offset: 3,
      data: new Uint8Array([0b10101000, 0b1]),
    });
    expect(Array.from(modelColumn(bits, 'bool', 5, id) as Float64Array)).toEqual([1, 0, 1, 0, 1]);
  });
});
