/**
 * Results stored by an earlier version (result/1: outputs in the clear, before they were
 * sealed to their readers) neither break the list of results nor get served: the list
 * leaves them out, and reading one says why (410 result_unsupported), while its job is
 * still known for the access check.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Metadata, openDb } from '../../../src/host/store/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'obscura-legacy-results-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('results of an earlier version', () => {
  it('are left out of the list and answered 410, never 500', () => {
    const db = openDb(join(dir, 'm.sqlite'));
    db.exec('PRAGMA foreign_keys = OFF');
    const legacy = {
      obscura: 'result-document/1',
      id: 'a'.repeat(32),
      hash: 'b'.repeat(64),
      signed: { result: { obscura: 'result/1', outputs: { t: { rows: [[1]] } } } },
    };
    db.prepare('INSERT INTO results (id, job_id, hash, document, created_at) VALUES (?, ?, ?, ?, ?)').run(
      legacy.id,
      'job-1',
      legacy.hash,
      JSON.stringify(legacy),
      new Date().toISOString(),
    );
    const metadata = new Metadata(db);
    expect(metadata.results()).toEqual([]);
    expect(() => metadata.result(legacy.id)).toThrow(
      expect.objectContaining({ code: 'result_unsupported', status: 410 }),
    );
    expect(metadata.resultJob(legacy.id)).toBe('job-1');
    expect(metadata.resultJob('c'.repeat(32))).toBeUndefined();
    db.close();
  });
});
