/**
 * A store write that fails while other writes are still on their way (store/write.ts keeps
 * up to two chunks' writes in flight): the failure is returned, the rest of the stream is
 * still read (its checks still run), no write is left using a file when it is closed, and
 * neither the store nor its staging directory is left behind. The columns' files are opened
 * through a wrapper (writeStoreFrom's openFile; no module mock: this suite's workers share
 * modules between files) whose writes settle late, one failing as a full disk would.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/crypto/index.ts';
import { parseDataset } from '../../src/data/index.ts';
import { readStoreIndex } from '../../src/enclave/store/read.ts';
import { writeStoreFrom } from '../../src/enclave/store/write.ts';

/** What the wrapped handles saw, in order: a write's start and end, and each close. */
const events: string[] = [];
/** Which write fails, counted from 0 over all the files' writes (`writes` so far); -1: none. */
const failing = { at: -1, writes: 0 };
let handles = 0;

/** `open` whose handles' writes settle late, the `failing.at`-th failing as a full disk would. */
const openLate = (async (...args: Parameters<typeof open>): Promise<FileHandle> => {
  const handle = await open(...args);
  const id = handles++;
  const writev: FileHandle['writev'] = async (buffers, position) => {
    const n = failing.writes++;
    events.push(`write ${id}.${n}`);
    // Late, so that later chunks are sealed and their writes started meanwhile.
    await new Promise((r) => setTimeout(r, 5));
    try {
      if (n === failing.at) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      return await handle.writev(buffers, position ?? undefined);
    } finally {
      events.push(`settled ${id}.${n}`);
    }
  };
  const close = async () => {
    events.push(`close ${id}`);
    return handle.close();
  };
  return new Proxy(handle, {
    get(target, prop) {
      if (prop === 'writev') return writev;
      if (prop === 'close') return close;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}) as typeof open;

const work = mkdtempSync(join(tmpdir(), 'obscura-store-failure-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const me = generateIdentity().identity;
const H = 'b'.repeat(64);

describe('a store write failing while others are on their way', () => {
  it('returns the failure after reading the whole stream, closes no file under a write, and leaves nothing', async () => {
    const lines = ['name,k,x'];
    for (let i = 0; i < 2000; i++) lines.push(`secret-${i},${i * 3},${i / 4}`);
    const data = await parseDataset(Buffer.from(`${lines.join('\n')}\n`), 'csv');
    let piecesRead = 0;
    const pieces = async function* () {
      for (let a = 0; a < data.rows; a += 250) {
        const b = Math.min(data.rows, a + 250);
        piecesRead++;
        yield { table: data.table.slice(a, b), schema: data.schema, rows: b - a };
      }
    };
    const shape = { schema: data.schema, rows: data.rows };

    // Without a failure the wrapper changes nothing: the store is written.
    const good = join(work, 'good');
    expect(await writeStoreFrom(good, shape, pieces(), H, me, 128, openLate)).toBe('written');
    expect(await readStoreIndex(good, 'd1', H, me)).toBeDefined();

    // The fifth write of all (the second chunk's second column) fails while others are in flight.
    events.length = 0;
    piecesRead = 0;
    failing.at = failing.writes + 4;
    const bad = join(work, 'bad');
    const result = await writeStoreFrom(bad, shape, pieces(), H, me, 128, openLate);
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toMatch(/no space left/);
    // The stream was read to its end, so that a caller checking it still sees every check.
    expect(piecesRead).toBe(8);
    // Writes were on their way together (a start before the previous write settled) ...
    const started = events.filter((e) => e.startsWith('write')).length;
    expect(started).toBeGreaterThan(5);
    const overlapped = events.some(
      (e, i) =>
        e.startsWith('write') &&
        events.slice(0, i).filter((x) => x.startsWith('write')).length >
          events.slice(0, i).filter((x) => x.startsWith('settled')).length,
    );
    expect(overlapped).toBe(true);
    // ... and every write had settled before the first file was closed.
    const firstClose = events.findIndex((e) => e.startsWith('close'));
    expect(firstClose).toBeGreaterThan(-1);
    expect(events.slice(firstClose).some((e) => e.startsWith('write') || e.startsWith('settled'))).toBe(
      false,
    );
    expect(events.filter((e) => e.startsWith('settled')).length).toBe(started);
    // Neither the store nor its staging is left.
    expect(existsSync(bad)).toBe(false);
    expect(readdirSync(work).filter((f) => f.includes('staging'))).toEqual([]);
  });
});
