/** The replay store: a key is refused while it lives, accepted again once expired, and kept across a reopen of the database. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb, ReplayStore } from '../../../src/host/store/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'obscura-replay-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ReplayStore', () => {
  it('refuses a key until it expires, and remembers it across a reopen', () => {
    const path = join(dir, 'a.sqlite');
    const key = Buffer.alloc(32, 7);
    const first = openDb(path);
    expect(new ReplayStore(first).remember(key, 10_000, 1_000)).toBe(true);
    expect(new ReplayStore(first).remember(key, 10_000, 2_000)).toBe(false);
    first.close();
    const again = openDb(path);
    const store = new ReplayStore(again);
    expect(store.remember(key, 10_000, 9_999)).toBe(false);
    // Past its expiry the key is no longer needed: the timestamp it came with is out of the window.
    expect(store.remember(key, 20_000, 10_001)).toBe(true);
    expect(store.remember(key, 20_000, 10_002)).toBe(false);
    expect(store.remember(Buffer.alloc(32, 8), 20_000, 10_003)).toBe(true);
    again.close();
  });

  it('prunes expired keys', () => {
    const db = openDb(join(dir, 'b.sqlite'));
    const store = new ReplayStore(db);
    for (let i = 0; i < 5; i++) store.remember(Buffer.alloc(32, i), 1_000, 0);
    store.remember(Buffer.alloc(32, 99), 100_000, 5_000);
    expect((db.prepare('SELECT COUNT(*) AS n FROM seen_requests').get() as { n: number }).n).toBe(1);
    db.close();
  });
});
