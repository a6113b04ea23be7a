/**
 * A list of results, jobs or pipelines reads its candidates in SQL (Metadata.resultsAfter, jobsAfter,
 * pipelinesAfter): newest first, after
 * a cursor, at most n, and only results of jobs the account submitted or has an input of, or
 * whose pipeline asks to be public. The access rules decide exactly on each (access.ts); this
 * keeps a list request from reading every result stored.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Metadata, openDb } from '../../../src/host/store/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'obscura-results-page-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('results as a list reads them', () => {
  it('are the account’s candidates, newest first, a batch at a time after a cursor', () => {
    const db = openDb(join(dir, 'm.sqlite'));
    // Rows as the stores write them, with placeholder manifests and documents (never parsed here).
    db.exec('PRAGMA foreign_keys = OFF');
    const now = '2026-12-07T10:00:00.000Z';
    db.prepare('INSERT INTO pipelines (hash, name, document, created_at) VALUES (?, ?, ?, ?)').run(
      'private',
      'p',
      JSON.stringify({ steps: [] }),
      now,
    );
    db.prepare('INSERT INTO pipelines (hash, name, document, created_at) VALUES (?, ?, ?, ?)').run(
      'public',
      'q',
      JSON.stringify({ visibility: 'public', steps: [] }),
      now,
    );
    const dataset = db.prepare(
      `INSERT INTO datasets (id, name, owner, worker_id, format, rows, ciphertext_sha256, ciphertext_bytes, manifest_json, created_at)
       VALUES (?, 'd', ?, 'w', 'csv', 1, 'x', 1, '{}', ?)`,
    );
    dataset.run('d-alice', 'alice', now);
    dataset.run('d-bob', 'bob', now);
    const job = db.prepare(
      `INSERT INTO jobs (id, analyst, pipeline_hash, inputs_json, worker_id, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'w', 'succeeded', ?, ?)`,
    );
    const result = db.prepare(
      'INSERT INTO results (id, job_id, hash, document, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    // 300 results: carol's jobs over bob's data; every 10th over alice's (in a list of
    // inputs); every 25th by a public pipeline; every 7th is dave's own job.
    for (let i = 0; i < 300; i++) {
      const id = String(i).padStart(3, '0');
      const inputs = i % 10 === 0 ? { a: 'd-bob', b: ['d-bob', 'd-alice'] } : { a: 'd-bob' };
      const analyst = i % 7 === 0 ? 'dave' : 'carol';
      job.run(`j${id}`, analyst, i % 25 === 0 ? 'public' : 'private', JSON.stringify(inputs), now, now);
      // Two results share each second, so the order needs the id as well.
      const at = new Date(Date.parse(now) + Math.floor(i / 2) * 1000).toISOString();
      result.run(`r${id}`, `j${id}`, 'h', '{}', at);
    }
    const metadata = new Metadata(db);
    const all = (account: string | undefined) => {
      const ids: string[] = [];
      let after: string | undefined;
      for (;;) {
        const batch = metadata.resultsAfter(account, after, 7);
        expect(batch.length).toBeLessThanOrEqual(7);
        ids.push(...batch.map((r) => r.id));
        if (batch.length < 7) return ids;
        after = batch.at(-1)?.id;
      }
    };
    const expected = (keep: (i: number) => boolean) =>
      Array.from({ length: 300 }, (_, i) => i)
        .filter(keep)
        .sort((a, b) => Math.floor(b / 2) - Math.floor(a / 2) || a - b)
        .map((i) => `r${String(i).padStart(3, '0')}`);
    const isPublic = (i: number) => i % 25 === 0;
    expect(all('bob')).toEqual(expected(() => true));
    expect(all('alice')).toEqual(expected((i) => i % 10 === 0 || isPublic(i)));
    expect(all('dave')).toEqual(expected((i) => i % 7 === 0 || isPublic(i)));
    expect(all('eve')).toEqual(expected(isPublic));
    expect(all(undefined)).toEqual(expected(isPublic));
    // Jobs list the same way (all created at once here, so in id order).
    const jobIds = (account: string | undefined) => {
      const ids: string[] = [];
      let after: string | undefined;
      for (;;) {
        const batch = metadata.jobsAfter(account, after, 11);
        ids.push(...batch.map((j) => j.id));
        if (batch.length < 11) return ids;
        after = batch.at(-1)?.id;
      }
    };
    const jobsOf = (keep: (i: number) => boolean) =>
      Array.from({ length: 300 }, (_, i) => i)
        .filter(keep)
        .map((i) => `j${String(i).padStart(3, '0')}`);
    expect(jobIds('alice')).toEqual(jobsOf((i) => i % 10 === 0 || isPublic(i)));
    expect(jobIds(undefined)).toEqual(jobsOf(isPublic));
    // Pipelines list the same way: ones the account stored or has a job it may read of.
    db.prepare('INSERT INTO pipelines (hash, name, document, created_at) VALUES (?, ?, ?, ?)').run(
      'unused',
      'u',
      JSON.stringify({ steps: [] }),
      now,
    );
    db.prepare('INSERT INTO pipeline_authors (hash, account) VALUES (?, ?)').run('unused', 'frank');
    const pipelineHashes = (account: string | undefined) => {
      const hashes: string[] = [];
      let after: string | undefined;
      for (;;) {
        const batch = metadata.pipelinesAfter(account, after, 1);
        hashes.push(...batch.map((p) => p.hash));
        if (batch.length < 1) return hashes;
        after = batch.at(-1)?.hash;
      }
    };
    expect(pipelineHashes('bob')).toEqual(['private', 'public']);
    expect(pipelineHashes('alice')).toEqual(['private', 'public']);
    expect(pipelineHashes('eve')).toEqual(['public']);
    expect(pipelineHashes('frank')).toEqual(['public', 'unused']);
    expect(pipelineHashes(undefined)).toEqual([]);
    // Each row names its job; documents this version does not serve come back undefined.
    expect(metadata.resultsAfter('dave', undefined, 1)).toEqual([
      { id: 'r294', job: 'j294', document: undefined },
    ]);
    db.close();
  });
});
