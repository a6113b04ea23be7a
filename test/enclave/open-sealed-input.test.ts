/**
 * openSealedInput (the enclave's check of a sealed upload, and of a job's input without a
 * store): the rows of a dataset sealed to this enclave, through the inline path and the
 * two worker threads (from 8 MiB), and each refusal with the code it had when the file was
 * read whole and hashed before decryption: a swapped or damaged file is a ciphertext
 * mismatch, not an age error; a missing one is dataset_blob_missing; a manifest whose
 * plaintext hash is not the file's is a plaintext mismatch.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealDataset } from '../../src/cli/seal-dataset.ts';
import { type AccountKey, accountKeyFromSuri, generateIdentity } from '../../src/crypto/index.ts';
import { type SignedManifest, signManifest } from '../../src/crypto/manifest.ts';
import { stopCsvWorkers } from '../../src/enclave/csv-workers.ts';
import { openSealedInput } from '../../src/enclave/datasets.ts';
import { ingestSealedInput } from '../../src/enclave/ingest.ts';

const work = mkdtempSync(join(tmpdir(), 'obscura-open-input-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const keys = generateIdentity();
const ctx = { ageIdentity: keys.identity, recipient: keys.recipient, measurement: 'm'.repeat(64) };

async function sealed(name: string, rows: number): Promise<{ path: string; signed: SignedManifest }> {
  // A wide text column: past 8 MiB in few rows, so the test stays quick.
  const note = 'n'.repeat(200);
  const lines = ['region,k,cost,note'];
  for (let i = 0; i < rows; i++)
    lines.push(`${['north', 'south', 'east'][i % 3]},${i},${(i % 997) / 4},${note}`);
  const file = join(work, `${name}.csv`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const path = join(work, `${name}.age`);
  const { signed } = await sealDataset({
    file,
    out: path,
    owner,
    worker: { id: 'w', recipient: ctx.recipient },
    analysts: [],
    measurements: [ctx.measurement],
  });
  return { path, signed };
}

let owner: AccountKey;
beforeAll(async () => {
  owner = await accountKeyFromSuri('//OpenInputOwner');
});

const input = (path: string, manifest: SignedManifest) => ({ datasetId: 'd1', blobPath: path, manifest });

describe('openSealedInput', () => {
  it('opens a small dataset and one past the worker threshold, rows and schema as signed', async () => {
    for (const [name, rows] of [
      ['small', 1000],
      ['large', 45_000],
    ] as const) {
      const s = await sealed(name, rows);
      if (name === 'large') expect(s.signed.manifest.plaintext.bytes).toBeGreaterThan(8 * 1024 * 1024);
      const opened = await openSealedInput(input(s.path, s.signed), ctx);
      expect(opened.data.rows).toBe(rows);
      expect(opened.data.schema).toEqual(s.signed.manifest.schema);
    }
  });

  it('refuses with the codes of a whole-file check: damaged, swapped, missing, mislabelled', async () => {
    const s = await sealed('refuse', 2000);
    const damaged = join(work, 'damaged.age');
    const bytes = readFileSync(s.path);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 1;
    writeFileSync(damaged, bytes);
    await expect(openSealedInput(input(damaged, s.signed), ctx)).rejects.toMatchObject({
      code: 'ciphertext_hash_mismatch',
    });
    // Another file sealed to this enclave decrypts, but is not the one the owner signed.
    const other = await sealed('other', 2001);
    await expect(openSealedInput(input(other.path, s.signed), ctx)).rejects.toMatchObject({
      code: 'ciphertext_hash_mismatch',
    });
    await expect(openSealedInput(input(join(work, 'gone.age'), s.signed), ctx)).rejects.toMatchObject({
      code: 'dataset_blob_missing',
    });
    const m = { ...s.signed.manifest, plaintext: { ...s.signed.manifest.plaintext, sha256: '0'.repeat(64) } };
    await expect(openSealedInput(input(s.path, signManifest(m, owner)), ctx)).rejects.toMatchObject({
      code: 'plaintext_hash_mismatch',
    });
  });

  it('ingests one past the parse threads as openSealedInput opens it, its store written; refuses alike', async () => {
    const s = await sealed('ingest', 45_000);
    const whole = await openSealedInput(input(s.path, s.signed), ctx);
    const { opened, stored } = await ingestSealedInput(input(s.path, s.signed), ctx);
    expect(stored).toBe(true);
    expect(opened.data.table.batches.length).toBeGreaterThan(1);
    for (const { name } of whole.data.schema)
      expect(Array.from(opened.data.table.getChild(name) ?? [])).toEqual(
        Array.from(whole.data.table.getChild(name) ?? []),
      );
    const damaged = join(work, 'ingest-damaged.age');
    const bytes = readFileSync(s.path);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 1;
    writeFileSync(damaged, bytes);
    await expect(ingestSealedInput(input(damaged, s.signed), ctx)).rejects.toMatchObject({
      code: 'ciphertext_hash_mismatch',
    });
    await stopCsvWorkers();
  });
});
