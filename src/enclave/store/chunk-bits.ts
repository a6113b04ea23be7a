/**
 * A chunk's slice of a column with bit buffers of its own rows only. apache-arrow's IPC
 * writer copies a sliced column's validity bitmap (and a bool column's value bits) sized by
 * the whole buffer it was sliced from, not by the slice (truncateBitmap): every 131,072-row
 * chunk of a 10M-row column with a null carried the whole column's 1.25 MB bitmap
 * (measured: the sample job's cost column sealed 176 MB instead of 82, a bool column
 * 96 MB instead of 1.3), all of it read and decrypted again by every job. A bool slice's
 * values are re-packed to start at bit 0 here too, with or without nulls.
 */
import { type Data, Type } from 'apache-arrow';

/** `data` as the same rows at offset 0, its bitmaps copied down to its own rows when sliced (fresh: the caller wipes them once sealed). */
export function ownBits(data: Data): Data {
  const isBool = data.type.typeId === Type.Bool;
  const nulls = data.nullCount > 0 && data.nullBitmap !== null && data.nullBitmap !== undefined;
  // Chunk 0 has offset 0 but still the whole column's bitmap: the size tells.
  const own = (bits: Uint8Array) => data.offset === 0 && bits.byteLength <= Math.ceil(data.length / 8);
  if ((!isBool || own(data.values as Uint8Array)) && (!nulls || own(data.nullBitmap as Uint8Array)))
    return data;
  return data.clone(data.type, 0, data.length, data.nullCount, [
    data.valueOffsets,
    isBool ? bitsFrom(data.values as Uint8Array, data.offset, data.length) : data.values,
    nulls ? bitsFrom(data.nullBitmap as Uint8Array, data.offset, data.length) : undefined,
  ] as never);
}

/**
 * Bits [offset, offset + length) of `bits` (LSB first) as a fresh bitmap starting at bit 0,
 * bits past the last row clear (the writer pads with them). A slice starting mid-byte (a
 * chunk is cut from the parsed pieces by row count, so most do) is shifted two bytes a byte:
 * Arrow's writer would re-pack it through a generic bit iterator, one boxed value a row
 * (~18 ms a 1M-row ingest, measured).
 */
function bitsFrom(bits: Uint8Array, offset: number, length: number): Uint8Array {
  const out = new Uint8Array((length + 7) >> 3);
  const first = offset >> 3;
  const shift = offset & 7;
  if (shift === 0) out.set(bits.subarray(first, first + out.length));
  else
    for (let j = 0; j < out.length; j++)
      out[j] = (((bits[first + j] as number) >> shift) | ((bits[first + j + 1] ?? 0) << (8 - shift))) & 0xff;
  const tail = length & 7;
  if (tail) out[out.length - 1] = (out[out.length - 1] as number) & ((1 << tail) - 1);
  return out;
}
