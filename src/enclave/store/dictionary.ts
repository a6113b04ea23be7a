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
  const dict = new ChunkDictionary();
  const out: { indices: Int8Array; part: Data }[] = [];
  for (const part of parts) {
    const indices = new Int8Array(part.length);
    const bitmap = part.nullCount > 0 ? (part.nullBitmap as Uint8Array) : undefined;
    const fits = encodePart(
      dict,
      part.values as Uint8Array,
      part.valueOffsets as Int32Array,
      bitmap,
      part.offset,
      indices,
    );
    if (!fits) return undefined;
    out.push({ indices, part });
  }
  const dictionary = makeVector(dict.data());
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

/** Slots of the open-addressing table: twice the dictionary's size. */
const SLOTS = 256;

/**
 * The distinct values of a chunk so far, in order of first appearance (their codes), with
 * their bytes copied into one buffer: one typed-array shape, so the per-row loop stays
 * monomorphic whichever parts the values came from.
 */
class ChunkDictionary {
  /** Code + 1 per slot, 0 empty. */
  readonly slots = new Int16Array(SLOTS);
  readonly starts = new Int32Array(DICTIONARY_MAX + 1);
  readonly lengths = new Int32Array(DICTIONARY_MAX);
  bytes = new Uint8Array(1024);
  count = 0;

  /** The dictionary as Utf8 data (its values' bytes, copied once more to their size). */
  data(): Data<Utf8> {
    const offsets = new Int32Array(this.count + 1);
    offsets.set(this.starts.subarray(0, this.count + 1));
    return makeData({
      type: new Utf8(),
      length: this.count,
      nullCount: 0,
      valueOffsets: offsets,
      data: this.bytes.slice(0, offsets[this.count] as number),
    });
  }
}

/**
 * Code row by row the values of one part (`offsets` already at the part's first row,
 * `bitmap` at bit `offset`) into `indices`; false when the chunk has more than
 * DICTIONARY_MAX distinct values. Nulls keep code 0 (their validity bit says null).
 */
function encodePart(
  dict: ChunkDictionary,
  bytes: Uint8Array,
  offsets: Int32Array,
  bitmap: Uint8Array | undefined,
  offset: number,
  indices: Int8Array,
): boolean {
  const { slots, starts, lengths } = dict;
  let known = dict.bytes;
  const rows = indices.length;
  for (let i = 0; i < rows; i++) {
    if (bitmap) {
      const b = offset + i;
      if ((((bitmap[b >> 3] as number) >> (b & 7)) & 1) === 0) continue;
    }
    const start = offsets[i] as number;
    const end = offsets[i + 1] as number;
    const length = end - start;
    // The slot from the length and three bytes (first, middle, last) rather than every
    // byte: the bytes are compared in full below anyway.
    let h =
      length === 0
        ? 0
        : Math.imul(
            length ^
              ((bytes[start] as number) << 8) ^
              ((bytes[start + (length >> 1)] as number) << 16) ^
              ((bytes[end - 1] as number) << 24),
            0x9e3779b1,
          );
    h ^= h >>> 15;
    let slot = (h ^ (h >>> 8)) & (SLOTS - 1);
    for (;;) {
      const entry = slots[slot] as number;
      if (entry === 0) {
        const code = dict.count;
        if (code === DICTIONARY_MAX) return false;
        const at = starts[code] as number;
        if (at + length > known.length) {
          const grown = new Uint8Array(Math.max(known.length * 2, at + length));
          grown.set(known.subarray(0, at));
          dict.bytes = known = grown;
        }
        known.set(bytes.subarray(start, end), at);
        lengths[code] = length;
        starts[code + 1] = at + length;
        dict.count = code + 1;
        slots[slot] = code + 1;
        indices[i] = code;
        break;
      }
      const code = entry - 1;
      if (lengths[code] === length) {
        const at = starts[code] as number;
        let k = 0;
        while (k < length && known[at + k] === bytes[start + k]) k++;
        if (k === length) {
          indices[i] = code;
          break;
        }
      }
      slot = (slot + 1) & (SLOTS - 1);
    }
  }
  return true;
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
