/**
 * Dictionary-encoded string chunks in the store. A string column chunk with few distinct
 * values (a region, a status, a code) is kept as an Arrow Dictionary<Utf8, Int8>: one byte
 * a row and the distinct strings once, instead of every row's bytes and a 4-byte offset.
 * A job then decrypts a fraction of the bytes and hands DuckDB each distinct string's
 * 16-byte form once per row from a table (data/duckdb-vectors.ts) instead of copying
 * strings byte by byte; a 1M-row region column shrinks from ~9.5 MB to ~1 MB. The values
 * read back are the same strings: Arrow resolves an index through the dictionary.
 *
 * Arrow IPC chunks describe their own type, so the format stays obscura-store/1: a chunk
 * is Utf8 or a dictionary (when it has at most DICTIONARY_MAX distinct values), and a
 * reader takes either.
 */
import {
  type Data,
  Dictionary,
  Field,
  Int8,
  makeData,
  makeVector,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Type,
  Utf8,
} from 'apache-arrow';
import { scannableColumnType } from '../../data/columns.ts';

/** Most distinct values a dictionary chunk holds (its indices are signed bytes). */
export const DICTIONARY_MAX = 127;

/** The Arrow type of a dictionary-encoded string column chunk. */
export function stringDictionaryType(): Dictionary<Utf8, Int8> {
  return new Dictionary(new Utf8(), new Int8());
}

/** Whether `data` is a dictionary-encoded string chunk as the store writes them. */
export function isStringDictionary(data: Data): boolean {
  return data.type.typeId === Type.Dictionary && scannableColumnType(data.type) === 'string';
}

/**
 * The parts of one chunk of a string column (Utf8 Data, possibly sliced) as dictionary
 * parts sharing one dictionary, or undefined when they hold more than DICTIONARY_MAX
 * distinct values. Values are compared as bytes (one UTF-8 string has one encoding).
 */
export function encodeStringChunk(parts: readonly Data[]): Data[] | undefined {
  // Open addressing over a table twice the dictionary's size: code + 1 per slot, 0 empty.
  const SLOTS = 256;
  const slots = new Int16Array(SLOTS);
  const starts: number[] = [];
  const lengths: number[] = [];
  const sources: Uint8Array[] = [];
  const out: { indices: Int8Array; part: Data }[] = [];
  for (const part of parts) {
    const offsets = part.valueOffsets as Int32Array;
    const bytes = part.values as Uint8Array;
    const indices = new Int8Array(part.length);
    const bitmap = part.nullCount > 0 ? part.nullBitmap : undefined;
    for (let i = 0; i < part.length; i++) {
      if (bitmap) {
        const b = part.offset + i;
        if ((((bitmap[b >> 3] as number) >> (b & 7)) & 1) === 0) continue;
      }
      const start = offsets[i] as number;
      const end = offsets[i + 1] as number;
      let h = 0x811c9dc5;
      for (let k = start; k < end; k++) h = Math.imul(h ^ (bytes[k] as number), 0x01000193);
      let slot = (h ^ (h >>> 8) ^ (h >>> 16)) & (SLOTS - 1);
      for (;;) {
        const entry = slots[slot] as number;
        if (entry === 0) {
          if (starts.length === DICTIONARY_MAX) return undefined;
          starts.push(start);
          lengths.push(end - start);
          sources.push(bytes);
          slots[slot] = starts.length;
          indices[i] = starts.length - 1;
          break;
        }
        const code = entry - 1;
        if (
          sameBytes(
            sources[code] as Uint8Array,
            starts[code] as number,
            lengths[code] as number,
            bytes,
            start,
            end,
          )
        ) {
          indices[i] = code;
          break;
        }
        slot = (slot + 1) & (SLOTS - 1);
      }
    }
    out.push({ indices, part });
  }
  const dictionary = makeVector(utf8Data(sources, starts, lengths));
  const type = stringDictionaryType();
  return out.map(({ indices, part }) =>
    makeData({
      type,
      length: part.length,
      nullCount: part.nullCount,
      nullBitmap: part.nullCount > 0 ? alignedBitmap(part) : null,
      data: indices,
      dictionary,
    }),
  );
}

/** The parts of a chunk as a one-column table typed by the parts (Utf8 or dictionary), for tableToIPC. */
export function chunkTable(name: string, parts: readonly Data[]): Table {
  const field = new Field(name, (parts[0] as Data).type, true);
  const schema = new Schema([field]);
  return new Table(
    schema,
    parts.map(
      (d) =>
        new RecordBatch(
          schema,
          makeData({ type: new Struct([field]), length: d.length, nullCount: 0, children: [d] }),
        ),
    ),
  );
}

/** A dictionary part as plain Utf8 (a reader's slow path when a column mixes both kinds). */
export function decodeStringDictionary(data: Data): Data {
  const dictionary = data.dictionary as unknown as { data: Data[] };
  const dict = dictionary.data[0] as Data;
  const dOffsets = dict.valueOffsets as Int32Array;
  const dBytes = dict.values as Uint8Array;
  const indices = data.values as Int8Array;
  const offsets = new Int32Array(data.length + 1);
  let total = 0;
  for (let i = 0; i < data.length; i++) {
    const c = indices[i] as number;
    total += (dOffsets[c + 1] as number) - (dOffsets[c] as number);
    offsets[i + 1] = total;
  }
  const bytes = new Uint8Array(total);
  for (let i = 0; i < data.length; i++) {
    const c = indices[i] as number;
    bytes.set(dBytes.subarray(dOffsets[c] as number, dOffsets[c + 1] as number), offsets[i] as number);
  }
  return makeData({
    type: new Utf8(),
    length: data.length,
    nullCount: data.nullCount,
    nullBitmap: data.nullCount > 0 ? alignedBitmap(data) : null,
    valueOffsets: offsets,
    data: bytes,
  });
}

function sameBytes(
  a: Uint8Array,
  aStart: number,
  aLength: number,
  b: Uint8Array,
  bStart: number,
  bEnd: number,
): boolean {
  if (aLength !== bEnd - bStart) return false;
  for (let k = 0; k < aLength; k++) if (a[aStart + k] !== b[bStart + k]) return false;
  return true;
}

function utf8Data(sources: Uint8Array[], starts: number[], lengths: number[]): Data<Utf8> {
  const offsets = new Int32Array(starts.length + 1);
  for (let c = 0; c < starts.length; c++) offsets[c + 1] = (offsets[c] as number) + (lengths[c] as number);
  const bytes = new Uint8Array(offsets[starts.length] as number);
  for (let c = 0; c < starts.length; c++) {
    const start = starts[c] as number;
    bytes.set(
      (sources[c] as Uint8Array).subarray(start, start + (lengths[c] as number)),
      offsets[c] as number,
    );
  }
  return makeData({
    type: new Utf8(),
    length: starts.length,
    nullCount: 0,
    valueOffsets: offsets,
    data: bytes,
  });
}

/** A Data's validity bitmap starting at bit 0 (a slice's starts at its offset). */
function alignedBitmap(data: Data): Uint8Array {
  const bitmap = data.nullBitmap as Uint8Array;
  const out = new Uint8Array(Math.ceil(data.length / 8));
  for (let i = 0; i < data.length; i++) {
    const b = data.offset + i;
    if (((bitmap[b >> 3] as number) >> (b & 7)) & 1) out[i >> 3] = (out[i >> 3] as number) | (1 << (i & 7));
  }
  return out;
}
