/**
 * The enclave's dataset store must not become a way around the owner's terms. Its key comes
 * from the worker's identity, which an authorised hand-over gives to new code; so code whose
 * measurement the owner's manifest does not accept, or an enclave the dataset was not sealed
 * to, must be refused before the store is read, exactly as for the sealed upload.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealDataset } from '../../src/cli/seal-dataset.ts';
import { accountKeyFromSuri, generateIdentity } from '../../src/crypto/index.ts';
import { manifestHash, type SignedManifest } from '../../src/crypto/manifest.ts';
import { dropWarm } from '../../src/data/index.ts';
import { openSealedInput } from '../../src/enclave/datasets.ts';
import { keepStore, openFromStore, storeReadsWhole } from '../../src/enclave/store/open.ts';
import { prewarm } from '../../src/enclave/store/prewarm.ts';
import { storePathFor } from '../../src/enclave/store/read.ts';
import { jobDuckdbMemory } from '../../src/pipelines/limits.ts';
import { parsePipeline, runPipeline } from '../../src/pipelines/index.ts';
import { refusal } from '../helpers/datasets.ts';

const work = mkdtempSync(join(tmpdir(), 'obscura-store-terms-'));
afterAll(() => {
  dropWarm(() => true);
  rmSync(work, { recursive: true, force: true });
});
const keys = generateIdentity();
const accepted = 'a'.repeat(64);
const ctx = { ageIdentity: keys.identity, recipient: keys.recipient, measurement: accepted };
let input: { datasetId: string; blobPath: string; manifest: SignedManifest };

beforeAll(async () => {
  const file = join(work, 'visits.csv');
  writeFileSync(file, 'region,amount\nnorth,10\nsouth,20\n');
  const blobPath = join(work, 'visits.sealed');
  const { signed } = await sealDataset({
    file,
    out: blobPath,
    owner: await accountKeyFromSuri('//StoreTermsOwner'),
    worker: { id: 'w', recipient: keys.recipient },
    analysts: [],
    measurements: [accepted],
  });
  input = { datasetId: 'd1', blobPath, manifest: signed };
  // The worker, running accepted code, opened the dataset once and kept its store.
  expect(await keepStore(input, await openSealedInput(input, ctx), ctx)).toBe(true);
  expect(await openFromStore(input, ctx, ['amount'])).toBeDefined();
});

/** The stable code of the error `p` rejects with. */
const code = async (p: Promise<unknown>): Promise<string> => (await refusal(p)).code;

describe('the store keeps the owner terms', () => {
  it('refuses code the owner does not accept, though it holds the same identity', async () => {
    expect(await code(openFromStore(input, { ...ctx, measurement: 'b'.repeat(64) }, ['amount']))).toBe(
      'measurement_not_accepted',
    );
  });

  it('refuses an enclave the dataset is not sealed to', async () => {
    const other = generateIdentity();
    expect(
      await code(
        openFromStore(input, { ...ctx, ageIdentity: other.identity, recipient: other.recipient }, ['amount']),
      ),
    ).toBe('dataset_wrong_recipient');
  });

  it('refuses a manifest whose owner signature does not verify', async () => {
    const forged = { ...input, manifest: { ...input.manifest, signature: `0x${'00'.repeat(64)}` } };
    expect(await code(openFromStore(forged, ctx, ['amount']))).toBe('manifest_signature_invalid');
  });

  it('answers from the warm cache only to code the owner accepts, and only while the store stands', async () => {
    const total = parsePipeline(`obscura: 1
name: total
inputs: { visits: { columns: { amount: int64 } } }
steps: [{ id: t, aggregate: { from: visits, measures: { s: { sum: amount } } } }]
outputs: { t: { min_group_size: 1 } }
`);
    const cold = await openFromStore(input, ctx, ['amount'], { warm: true });
    if (!cold?.source) throw new Error('no warm source');
    // Not read yet: DuckDB reads the store a chunk at a time as it fills the cache.
    expect(cold.source.data).toBeUndefined();
    expect(cold.source.chunked?.().rows).toBe(2);
    const out = await runPipeline(total, { visits: cold.source }, { warmCacheBytes: 2 ** 20 });
    // Cached now: the next open defers its read to the cache and holds no rows itself.
    const warm = await openFromStore(input, ctx, ['amount'], { warm: true });
    expect(warm?.source?.data).toBeUndefined();
    expect(warm?.data.table.numRows).toBe(0);
    if (!warm?.source) throw new Error('no warm source');
    expect(await runPipeline(total, { visits: warm.source }, { warmCacheBytes: 2 ** 20 })).toEqual(out);
    expect(
      await code(openFromStore(input, { ...ctx, measurement: 'b'.repeat(64) }, ['amount'], { warm: true })),
    ).toBe('measurement_not_accepted');
    // A job too large to parse whole reads the store in one query (a chunk at a time), but
    // only under the owner's terms.
    expect(await storeReadsWhole(input, ctx)).toBe(true);
    expect(await code(storeReadsWhole(input, { ...ctx, measurement: 'b'.repeat(64) }))).toBe(
      'measurement_not_accepted',
    );
    // The store gone (the host deleted the dataset): nothing is answered from memory.
    const dir = storePathFor(input.blobPath, manifestHash(input.manifest.manifest));
    renameSync(dir, `${dir}.away`);
    try {
      expect(await openFromStore(input, ctx, ['amount'], { warm: true })).toBeUndefined();
      expect(await storeReadsWhole(input, ctx)).toBe(false);
    } finally {
      renameSync(`${dir}.away`, dir);
    }
  });

  it('fills the warm cache at ingest, into free room only, and a first job reads no store', async () => {
    const total = parsePipeline(`obscura: 1
name: total
inputs: { visits: { columns: { amount: int64 } } }
steps: [{ id: t, aggregate: { from: visits, measures: { s: { sum: amount } } } }]
outputs: { t: { min_group_size: 1 } }
`);
    dropWarm(() => true);
    const limits = { timeoutMs: 60_000, maxRows: 10_000, memoryBytes: 2 ** 30 };
    const opened = await openSealedInput(input, ctx);
    const cold = await runPipeline(total, { visits: opened.data });
    // No room (a budget of a few bytes): nothing is copied.
    const tiny = await prewarm(input, opened, { ...ctx, limits: { ...limits, memoryBytes: 64 } });
    expect(await tiny.filled).toBe(false);
    expect(await (await prewarm(input, opened, { ...ctx, limits })).filled).toBe(true);
    const first = await openFromStore(input, ctx, ['amount'], { warm: true });
    if (!first?.source) throw new Error('no warm source');
    // The jobs' DuckDB configuration (enclave/jobs.ts), which prewarm fills.
    const run = { warmCacheBytes: 2 ** 20, memoryLimit: jobDuckdbMemory(limits.memoryBytes) };
    expect(await runPipeline(total, { visits: first.source }, run)).toEqual(cold);
    // Answered from the cache: the store was never read.
    expect(first.source.data).toBeUndefined();
    dropWarm(() => true);
  });
});
