/**
 * A chunk's slice of a column with bit buffers of its own rows only. apache-arrow's IPC
 * writer copies a sliced column's validity bitmap (and a bool column's value bits) sized by
 * the whole buffer it was sliced from, not by the slice (truncateBitmap): every 131,072-row
 * chunk of a 10M-row column with a null carried the whole column's 1.25 MB bitmap
 * (measured: the sample job's cost column sealed 176 MB instead of 82, a bool column
 * 96 MB instead of 1.3), all of it read and decrypted again by every job.
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

/** Bits [offset, offset + length) of `bits` (LSB first) as a bitmap starting at bit 0. */
function bitsFrom(bits: Uint8Array, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(length / 8));
  if ((offset & 7) === 0) {
    out.set(bits.subarray(offset >> 3, (offset >> 3) + out.length));
    // Bits past the last row are left clear (the writer pads with them).
    if (length & 7) out[out.length - 1] = (out[out.length - 1] as number) & ((1 << (length & 7)) - 1);
    return out;
  }
  for (let i = 0; i < length; i++) {
    const b = offset + i;
    if (((bits[b >> 3] as number) >> (b & 7)) & 1) out[i >> 3] = (out[i >> 3] as number) | (1 << (i & 7));
  }
  return out;
}
