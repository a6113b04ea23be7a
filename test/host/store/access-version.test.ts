/**
 * Metadata.version must change with every write, through the host's connection or any other,
 * since read-access decisions are kept only while it stays the same (access-cache.ts): a
 * decision outliving a revocation would let a reader in after the owner shut the door.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { Metadata, openDb } from '../../../src/host/store/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'obscura-version-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Metadata.version', () => {
  it('stays while only reads happen and changes with any write, from any connection', () => {
    const path = join(dir, 'm.sqlite');
    const db = openDb(path);
    const metadata = new Metadata(db);
    const v0 = metadata.version();
    metadata.datasets();
    metadata.jobs();
    expect(metadata.version()).toBe(v0);
    metadata.upsertPipeline('ab'.repeat(32), 'p', { obscura: 1 });
    const v1 = metadata.version();
    expect(v1).not.toBe(v0);
    // A write that changes no row still counts (it may have).
    db.prepare('UPDATE jobs SET progress = 1 WHERE id = ?').run('none');
    const v2 = metadata.version();
    expect(v2).not.toBe(v1);
    // Another connection's commit (e.g. an operator's sqlite3 shell).
    const other = new Database(path);
    other.prepare('UPDATE pipelines SET name = ? WHERE hash = ?').run('q', 'ab'.repeat(32));
    other.close();
    expect(metadata.version()).not.toBe(v2);
    db.close();
  });
});
