/**
 * sealDataset reads a CSV once: the manifest's schema and row count come from the same pass
 * that hashes and encrypts, and equal what inspectCsv reports for the whole file; a
 * malformed CSV leaves neither a sealed file nor a manifest behind.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeVisits } from '../../datasets/make-visits.ts';
import { sealDataset } from '../../src/cli/seal-dataset.ts';
import { accountKeyFromSuri, generateIdentity } from '../../src/crypto/index.ts';
import { inspectCsv } from '../../src/data/csv.ts';

const dir = mkdtempSync(join(tmpdir(), 'obscura-seal-dataset-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function seal(file: string, onProgress?: (done: number, total: number) => void) {
  const owner = await accountKeyFromSuri('//SealDatasetTest');
  return sealDataset({
    file,
    out: join(dir, 'out.age'),
    owner,
    worker: { id: 'w', recipient: generateIdentity().recipient },
    analysts: ['*'],
    measurements: [],
    ...(onProgress ? { onProgress } : {}),
  });
}

describe('sealDataset', () => {
  it('records the schema and row count inspectCsv finds, in one pass over many blocks', async () => {
    const file = join(dir, 'visits.csv');
    // ~2.4 MB: several 1 MiB blocks, so rows straddle block boundaries.
    writeFileSync(file, makeVisits({ rows: 50_000 }));
    const seen: number[] = [];
    const { signed, stats } = await seal(file, (done) => seen.push(done));
    const whole = inspectCsv(readFileSync(file));
    expect(signed.manifest.schema).toEqual(whole.schema);
    expect(signed.manifest.rows).toBe(50_000);
    expect(stats.plaintextBytes).toBe(readFileSync(file).length);
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.at(-1)).toBe(stats.plaintextBytes);
  });

  it('types from a sample past which it only counts rows: the same schema and row count for a uniform file', async () => {
    const file = join(dir, 'visits-sampled.csv');
    writeFileSync(file, makeVisits({ rows: 50_000 }));
    const owner = await accountKeyFromSuri('//SealDatasetTest');
    const { signed, check } = await sealDataset({
      file,
      out: join(dir, 'sampled.age'),
      owner,
      worker: { id: 'w', recipient: generateIdentity().recipient },
      analysts: ['*'],
      measurements: [],
      sampleBytes: 1, // the first 1 MiB block
    });
    expect(check).toBe('sample');
    expect(signed.manifest.schema).toEqual(inspectCsv(readFileSync(file)).schema);
    expect(signed.manifest.rows).toBe(50_000);
  });

  it('counts rows in the sealing threads past the sample of a file large enough for them', async () => {
    const file = join(dir, 'visits-large.csv');
    // Over WORKER_MIN_BYTES (8 MiB) and the 8 MiB sample, CRLF line ends and a blank line at
    // the end: the threads run the count from its source text on the blocks after the sample.
    const text = `${makeVisits({ rows: 200_000 }).replaceAll('\n', '\r\n')}\r\n`;
    writeFileSync(file, text);
    expect(text.length).toBeGreaterThan(9 * 1024 * 1024);
    const owner = await accountKeyFromSuri('//SealDatasetTest');
    const { signed, check } = await sealDataset({
      file,
      out: join(dir, 'large.age'),
      owner,
      worker: { id: 'w', recipient: generateIdentity().recipient },
      analysts: ['*'],
      measurements: [],
    });
    expect(check).toBe('sample');
    expect(signed.manifest.rows).toBe(200_000);
    expect(signed.manifest.schema).toEqual(inspectCsv(readFileSync(file)).schema);
  });

  it('refuses a malformed CSV found late in the file and leaves nothing behind', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, `${makeVisits({ rows: 40_000 })}a,b\n`);
    rmSync(join(dir, 'out.age'), { force: true });
    rmSync(join(dir, 'out.age.manifest.json'), { force: true });
    await expect(seal(file)).rejects.toMatchObject({ code: 'dataset_invalid' });
    expect(existsSync(join(dir, 'out.age'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('.out.age') || f.startsWith('out.age'))).toEqual([]);
  });
});
