/**
 * A bool column's slice re-packed to start on a byte. A store chunk is cut from the parsed
 * pieces by row count, so its bool slices mostly start mid-byte, and Arrow's IPC writer
 * re-packs such a slice through a generic bit iterator (util/bit packBools), one boxed
 * value a row; here it is a shift of two bytes a byte. The rows' values are unchanged.
 */
import { Bool, type Data, makeData } from 'apache-arrow';

/**
 * `data` (Bool, no nulls) as the same rows with offset 0 in a fresh bitmap, bits past its
 * length zero; `data` itself when it already starts on a byte or has nulls (Arrow then
 * re-packs both bitmaps together, as before). The caller wipes the fresh bitmap once used.
 */
export function byteAlignedBools(data: Data): Data {
  const shift = data.offset & 7;
  if (shift === 0 || data.nullCount > 0) return data;
  const source = data.values as Uint8Array;
  const first = data.offset >> 3;
  const bytes = new Uint8Array((data.length + 7) >> 3);
  for (let j = 0; j < bytes.length; j++) {
    const lo = (source[first + j] as number) >> shift;
    const hi = (source[first + j + 1] ?? 0) << (8 - shift);
    bytes[j] = (lo | hi) & 0xff;
  }
  const tail = data.length & 7;
  if (tail > 0) bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) & ((1 << tail) - 1);
  return makeData({ type: new Bool(), length: data.length, nullCount: 0, data: bytes });
}
