/**
 * The CSV parsed in pieces by the enclave's parse threads (csv-pieces.ts, csv-workers.ts)
 * is the CSV parsed whole on one thread: the same rows and values (quoted fields with
 * commas, quotes and newlines, empty values, every column type), the same store once
 * written (read back, value for value), and the same error, naming the row in the whole
 * file, when a row far from the first is bad — held whole or streamed in chunks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/crypto/index.ts';
import { csvChunks } from '../../src/data/csv-chunks.ts';
import { parseCsv } from '../../src/data/csv.ts';
import type { DatasetSchema, ParsedDataset } from '../../src/data/schema.ts';
import { joinPieces, parseCsvPieces, parseCsvStream } from '../../src/enclave/csv-pieces.ts';
import { startCsvWorkers, stopCsvWorkers } from '../../src/enclave/csv-workers.ts';
import { readStore, readStoreIndex } from '../../src/enclave/store/read.ts';
import { writeStore, writeStoreFrom } from '../../src/enclave/store/write.ts';

const work = mkdtempSync(join(tmpdir(), 'obscura-csv-threads-'));
afterAll(async () => {
  await stopCsvWorkers();
  rmSync(work, { recursive: true, force: true });
});

const schema: DatasetSchema = [
  { name: 'id', type: 'string' },
  { name: 'region', type: 'string' },
  { name: 'n', type: 'int64' },
  { name: 'x', type: 'float64' },
  { name: 'ok', type: 'bool' },
  { name: 'day', type: 'date' },
  { name: 'note', type: 'string' },
];

/** About 1.2 MB of CSV: past the threshold for threads, several pieces of 128 KiB. */
function csv(rows: number, bad?: number): Buffer {
  const lines = [schema.map((c) => c.name).join(',')];
  for (let i = 0; i < rows; i++) {
    const note = i % 7 === 0 ? `"say ""hi"",\nline ${i}"` : i % 11 === 0 ? '' : `plain note ${i}`;
    const n = i === bad ? 'abc' : i % 13 === 0 ? '' : String(i * 7 - 5000);
    lines.push(
      [
        `p${i}`,
        ['north', 'south', 'east', 'west'][i % 4],
        n,
        i % 17 === 0 ? '' : (i / 8).toString(),
        i % 3 === 0 ? 'true' : 'false',
        `2024-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`,
        note,
      ].join(','),
    );
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

function shared(bytes: Buffer): Buffer {
  const out = Buffer.from(new SharedArrayBuffer(bytes.length));
  bytes.copy(out);
  return out;
}

const values = (d: ParsedDataset) =>
  schema.map((_, c) => {
    const v = d.table.getChildAt(c);
    return Array.from({ length: d.rows }, (_, i) => v?.get(i));
  });

async function all(pieces: AsyncIterable<ParsedDataset>): Promise<ParsedDataset[]> {
  const out: ParsedDataset[] = [];
  for await (const p of pieces) out.push(p);
  return out;
}

async function failure(fn: () => Promise<unknown> | unknown): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('CSV parse threads', () => {
  const bytes = csv(20_000);
  const whole = parseCsv(bytes, schema);

  it('parse a CSV in pieces to the rows and values of the parse on one thread, and store the same', async () => {
    const pieces = await all(parseCsvPieces(shared(bytes), schema, 128 * 1024));
    expect(pieces.length).toBeGreaterThan(4);
    const joined = joinPieces(schema, pieces);
    expect(joined.rows).toBe(20_000);
    expect(values(joined)).toEqual(values(whole));

    const me = generateIdentity().identity;
    const H = 'a'.repeat(64);
    await writeStore(join(work, 'serial'), whole, H, me);
    const written = await writeStoreFrom(
      join(work, 'threads'),
      { schema, rows: whole.rows },
      (async function* () {
        yield* pieces;
      })(),
      H,
      me,
    );
    expect(written).toBe('written');
    const back = async (dir: string) => {
      const index = await readStoreIndex(dir, 'd', H, me);
      if (!index) throw new Error('no store');
      return readStore(dir, index, { dataset: 'd', ageIdentity: me, schema });
    };
    const [a, b] = [await back(join(work, 'serial')), await back(join(work, 'threads'))];
    expect(b.rows).toBe(a.rows);
    expect(values(b)).toEqual(values(a));
  });

  it('wipe the plaintext on the threads once every piece is parsed, and only then', async () => {
    const plain = shared(bytes);
    const wiped = { done: false };
    const pieces = await all(parseCsvPieces(plain, schema, 128 * 1024, wiped));
    expect(wiped.done).toBe(true);
    expect(plain.every((b) => b === 0)).toBe(true);
    // The pieces' columns are their own memory, not views of the wiped plaintext.
    expect(values(joinPieces(schema, pieces))).toEqual(values(whole));

    // A bad row: the plaintext is parsed again for the whole file's error, and left to the caller.
    const bad = csv(20_000, 17_234);
    const badPlain = shared(bad);
    const badWiped = { done: false };
    await failure(() => all(parseCsvPieces(badPlain, schema, 128 * 1024, badWiped)));
    expect(badWiped.done).toBe(false);
    expect(badPlain.equals(bad)).toBe(true);
  });

  it('streamed in chunks of rows: the same rows, in order', async () => {
    async function* source() {
      for (let at = 0; at < bytes.length; at += 300_000)
        yield Uint8Array.from(bytes.subarray(at, at + 300_000));
    }
    const pieces = await all(parseCsvStream(csvChunks(source(), 1024 * 1024), schema));
    expect(pieces.length).toBeGreaterThan(1);
    expect(values(joinPieces(schema, pieces))).toEqual(values(whole));
  });

  it('refuse a bad row far from the first with the error of the parse on one thread', async () => {
    const bad = csv(20_000, 17_234);
    const serial = (await failure(() => parseCsv(bad, schema))) as Error & { details?: unknown };
    expect(serial.message).toMatch(/^CSV row 17235/);
    const threaded = (await failure(() => all(parseCsvPieces(shared(bad), schema, 128 * 1024)))) as Error & {
      details?: unknown;
    };
    expect([threaded.message, threaded.details]).toEqual([serial.message, serial.details]);
    async function* source() {
      yield bad;
    }
    const streamed = (await failure(() =>
      all(parseCsvStream(csvChunks(source(), 1024 * 1024), schema)),
    )) as Error & { details?: unknown };
    expect([streamed.message, streamed.details]).toEqual([serial.message, serial.details]);
  });

  it('parse here what a parse thread that failed was given: the same rows', async () => {
    const plain = shared(bytes);
    const wiped = { done: false };
    const pieces = parseCsvPieces(plain, schema, 128 * 1024, wiped);
    const first = pieces.next();
    // The threads stop with pieces handed to them (their parses fail as a crashed thread's).
    await stopCsvWorkers();
    const got = [(await first).value as ParsedDataset, ...(await all(pieces))];
    expect(values(joinPieces(schema, got))).toEqual(values(whole));
    // Not wiped by the threads (they had failed): the caller wipes it.
    expect(wiped.done).toBe(false);
    expect(plain.equals(bytes)).toBe(true);
    // A stream: the threads stop once the first chunk is handed to one, before the second is cut.
    await startCsvWorkers();
    const cut = 1024 * 1024 + 4096;
    async function* source() {
      yield bytes.subarray(0, cut);
      await stopCsvWorkers();
      yield bytes.subarray(cut);
    }
    const rest = await all(parseCsvStream(csvChunks(source(), 1024 * 1024), schema));
    expect(values(joinPieces(schema, rest))).toEqual(values(whole));
  });
});
