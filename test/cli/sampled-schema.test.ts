/**
 * `obscura seal` types a CSV's columns from a sample of its first rows and counts the rest;
 * a value further on that does not fit its sampled type is caught by the enclave at upload.
 * End to end in one process (the real enclave, in-process, behind the real API): an int
 * column with a float at row 30,000, past the sample, seals fine; its upload is refused by
 * `obscura upload` with a message naming the row, the column and the type (never the value)
 * and telling the owner to re-seal with --full-check or --type; nothing is stored; the file
 * re-sealed with --full-check (or with the column's type given) uploads. The seal command
 * takes both flags and refuses a type it does not know.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/client.ts';
import { sealCommand } from '../../src/cli/commands/seal.ts';
import { uploadCommand } from '../../src/cli/commands/upload.ts';
import { type SealRequest, sealDataset } from '../../src/cli/seal-dataset.ts';
import { type AccountKey, createKeyFile, loadAccountKey } from '../../src/crypto/index.ts';
import { EnclaveClient } from '../../src/host/enclave-client.ts';
import { type EnclaveDouble, startTestApp, type TestApp } from '../helpers/app.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';

const ROWS = 40_000;
const BAD_ROW = 30_000;
const BAD_VALUE = '12.5';

const work = mkdtempSync(join(tmpdir(), 'obscura-sampled-'));
const csv = join(work, 'payments.csv');
const keyFile = join(work, 'owner.key');
let enclave: EnclaveClient;
let app: TestApp;
let owner: AccountKey;

/** Seal the CSV to the in-process enclave, typing from its first 1 MiB block unless told otherwise. */
function seal(out: string, extra: Partial<SealRequest> = {}) {
  return sealDataset({
    file: csv,
    out: join(work, out),
    owner,
    worker: { id: 'worker-1', recipient: enclave.info.keys.recipient },
    analysts: [owner.address],
    measurements: [enclave.info.measurement],
    sampleBytes: 1,
    ...extra,
  });
}

/** Run `obscura <args>` (seal or upload) in this process: its error if it fails, and what it wrote to stderr. */
async function obscura(args: string[]): Promise<{ error: unknown; stderr: string }> {
  const program = new Command('obscura').option('--api <url>').option('--json').exitOverride();
  sealCommand(program);
  uploadCommand(program);
  const [out, err] = [process.stdout.write, process.stderr.write];
  let stderr = '';
  process.stdout.write = () => true; // what it prints on success
  process.stderr.write = (chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  };
  try {
    await program.parseAsync(['--api', app.url, ...args], { from: 'user' });
    return { error: undefined, stderr };
  } catch (e) {
    return { error: e, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** Run `obscura upload <sealed>` in this process; its error, if it fails. */
async function upload(sealed: string): Promise<unknown> {
  return (await obscura(['upload', join(work, sealed), '--key', keyFile])).error;
}

/** Datasets the API lists for the owner, and files the host keeps under its blob store. */
async function stored(): Promise<{ datasets: number; files: number }> {
  const listed = await new ApiClient(app.url, owner).get('/v1/datasets');
  const items = (listed as { datasets: unknown[] }).datasets;
  const files = readdirSync(join(app.dataDir, 'blobs'), { recursive: true, withFileTypes: true });
  return { datasets: items.length, files: files.filter((f) => f.isFile()).length };
}

beforeAll(async () => {
  // ~48 bytes a row: the float sits ~1.4 MB in, past the first 1 MiB block the sample reads.
  const pad = 'x'.repeat(24);
  const rows = Array.from(
    { length: ROWS },
    (_, i) => `${i},${i + 1 === BAD_ROW ? BAD_VALUE : String(i * 7)},${i % 2 ? 'north' : 'south'},${pad}`,
  );
  writeFileSync(csv, `id,amount,region,note\n${rows.join('\n')}\n`);
  await createKeyFile(keyFile);
  owner = await loadAccountKey(keyFile);
  enclave = await EnclaveClient.start({
    dataDir: join(work, 'enclave'),
    workerId: 'worker-1',
    spawn: inProcessEnclave,
  });
  app = await startTestApp({ enclaves: [enclave as unknown as EnclaveDouble] });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await enclave?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('a schema typed from a sample', () => {
  it('seals with the sampled types and the exact row count; the upload is refused at the value, naming the column and type', async () => {
    const { signed, check } = await seal('sampled.age');
    expect(check).toBe('sample');
    expect(signed.manifest.rows).toBe(ROWS);
    expect(signed.manifest.schema.find((c) => c.name === 'amount')?.type).toBe('int64');

    const e = (await upload('sampled.age')) as { code: string; message: string };
    expect(e.code).toBe('dataset_invalid');
    // The row stays inside the enclave (test/adversary/upload-refusal-row.test.ts).
    expect(e.message).toContain('CSV, a row, column "amount": value is not a valid int64');
    expect(e.message).not.toContain(String(BAD_ROW));
    expect(e.message).toContain('obscura seal --full-check');
    expect(e.message).toContain('--type amount=<type>');
    expect(e.message).not.toContain(BAD_VALUE);

    // Nothing stored: no dataset listed, no blob kept, no staging file left.
    expect(await stored()).toEqual({ datasets: 0, files: 0 });
  });

  it('re-sealed with --full-check, the column is typed from every value and the upload is accepted', async () => {
    const { signed, check } = await seal('full.age', { fullCheck: true });
    expect(check).toBe('full');
    expect(signed.manifest.rows).toBe(ROWS);
    expect(signed.manifest.schema.find((c) => c.name === 'amount')?.type).toBe('float64');
    expect(await upload('full.age')).toBeUndefined();
    // What the refused upload would have left, had it been accepted.
    const after = await stored();
    expect(after.datasets).toBe(1);
    expect(after.files).toBeGreaterThan(0);
  });

  it('re-sealed with the type given, the sampled schema takes it and the upload is accepted', async () => {
    const { signed, check } = await seal('typed.age', { types: { amount: 'float64' } });
    expect(check).toBe('sample');
    expect(signed.manifest.schema.find((c) => c.name === 'amount')?.type).toBe('float64');
    expect(await upload('typed.age')).toBeUndefined();
  });

  it('takes --type and --full-check on the command line', async () => {
    const seal = (out: string, ...flags: string[]) =>
      obscura([
        'seal',
        csv,
        '--worker',
        'worker-1',
        '--key',
        keyFile,
        '--allow',
        owner.address,
        '--allow-simulated',
        '--out',
        join(work, out),
        ...flags,
      ]);
    const typeOf = (out: string) =>
      JSON.parse(readFileSync(join(work, `${out}.manifest.json`), 'utf8')).manifest.schema.find(
        (c: { name: string }) => c.name === 'amount',
      )?.type;
    const typed = await seal('cli-typed.age', '--type', 'amount=float64');
    expect(typed.error).toBeUndefined();
    expect(typeOf('cli-typed.age')).toBe('float64');
    // The test CSV is under 8 MiB: the default checks it whole, so there is no note of a sample.
    expect(typed.stderr).not.toContain('first 8 MiB');
    const full = await seal('cli-full.age', '--full-check');
    expect(full.error).toBeUndefined();
    expect(typeOf('cli-full.age')).toBe('float64');
    expect(full.stderr).not.toContain('first 8 MiB');
    const bad = await seal('cli-bad.age', '--type', 'amount=decimal');
    expect(bad.error).toMatchObject({ code: 'column_type_invalid' });
  });

  it('refuses a type for a column the header does not have, before anything is written', async () => {
    await expect(seal('typo.age', { types: { amuont: 'float64' } })).rejects.toMatchObject({
      code: 'column_unknown',
    });
    expect(readdirSync(work).filter((f) => f.includes('typo'))).toEqual([]);
  });
});
