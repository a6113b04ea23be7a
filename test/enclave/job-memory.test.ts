/**
 * One memory budget per job (enclave/job-memory.ts): the decrypted inputs' share and
 * DuckDB's memory limit add up to at most the memory limit per job, and the manifests'
 * bound of an input's decrypted columns is never below what reading them from the store
 * really takes.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Data } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import { generateIdentity } from '../../src/crypto/index.ts';
import type { Manifest } from '../../src/crypto/manifest.ts';
import { parseByteSize } from '../../src/pipelines/limits.ts';
import { parseDataset, type ParsedDataset } from '../../src/data/index.ts';
import { decryptedBytes } from '../../src/enclave/job-memory.ts';
import { readStore, readStoreIndex } from '../../src/enclave/store/read.ts';
import { writeStore } from '../../src/enclave/store/write.ts';
import { inputMemory, JOB_LIMITS, jobDuckdbMemory } from '../../src/pipelines/limits.ts';

// Not the data-host helper's constant: importing it would make this an end-to-end file.
const VISITS_CSV = join(PROJECT_ROOT, 'datasets/visits.csv');
const dir = mkdtempSync(join(tmpdir(), 'obscura-job-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Bytes of the Arrow buffers behind a parsed dataset's columns (values, offsets, validity, dictionaries). */
function arrowBytes(data: ParsedDataset): number {
  const of = (d: Data): number =>
    (d.values?.byteLength ?? 0) +
    (d.valueOffsets?.byteLength ?? 0) +
    (d.nullBitmap?.byteLength ?? 0) +
    (d.dictionary ? d.dictionary.data.reduce((n, x) => n + of(x), 0) : 0) +
    d.children.reduce((n, c) => n + of(c), 0);
  return data.table.batches.reduce((n, b) => n + of(b.data), 0);
}

describe('job memory', () => {
  it("the inputs' share and DuckDB's limit add up to at most the memory limit per job", () => {
    for (const m of [
      JOB_LIMITS.memoryBytes.min,
      256 * 2 ** 20 + 12_345,
      2 * 2 ** 30,
      JOB_LIMITS.memoryBytes.max,
    ]) {
      const duckdb = parseByteSize(jobDuckdbMemory(m)) as number;
      expect(inputMemory(m) + duckdb).toBeLessThanOrEqual(m);
      expect(inputMemory(m)).toBeGreaterThan(m / 3);
      expect(duckdb).toBeGreaterThan(m / 2);
    }
  });

  it("the manifests' bound holds what the store's columns take decrypted", async () => {
    const bytes = readFileSync(VISITS_CSV);
    const parsed = await parseDataset(bytes, 'csv');
    const manifest = {
      format: 'csv',
      schema: parsed.schema,
      rows: parsed.rows,
      plaintext: { bytes: statSync(VISITS_CSV).size },
    } as unknown as Manifest;
    const { identity } = generateIdentity();
    const hash = 'e'.repeat(64);
    await writeStore(join(dir, 'store'), parsed, hash, identity);
    const index = await readStoreIndex(join(dir, 'store'), 'd', hash, identity);
    if (!index) throw new Error('no store');
    const names = parsed.schema.map((c) => c.name);
    // Every column, each alone, and the text columns together.
    const sets = [
      names,
      ...names.map((n) => [n]),
      parsed.schema.filter((c) => c.type === 'string').map((c) => c.name),
    ];
    for (const columns of sets) {
      const read = await readStore(join(dir, 'store'), index, {
        dataset: 'd',
        ageIdentity: identity,
        schema: parsed.schema,
        columns,
      });
      const actual = arrowBytes(read);
      expect(decryptedBytes(manifest, columns), columns.join(',')).toBeGreaterThanOrEqual(actual);
    }
    // Not absurdly loose for the whole dataset: within 3x.
    expect(decryptedBytes(manifest, names)).toBeLessThan(3 * arrowBytes(parsed));
  });
});
