/**
 * A job over a dataset large beside the enclave's memory limit, end to end: the host runs
 * the enclave with the smallest memory limit per job (128 MiB, heap capped to it), the
 * upload's check reads the sealed CSV in chunks (it is more than an eighth of the limit),
 * writing the enclave's store as it goes, the job reads that store in pieces, and the
 * released result is what a run over the whole dataset gives
 * (the refusal of what cannot stream is test/enclave/stream-job.test.ts).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import { parseDataset } from '../../src/data/index.ts';
import { parsePipeline, runPipeline } from '../../src/pipelines/index.ts';
import { type DataHost, startDataHost } from '../helpers/data-host.ts';
import { runToResult } from '../helpers/jobs.ts';

const MIB = 1024 ** 2;
const LIMITS = { timeoutMs: 120_000, maxRows: 100_000, memoryBytes: 128 * MIB };

const AGGREGATE = `obscura: 1
name: big-by-region
inputs: { big: { columns: { region: string, k: int64, x: float64 } } }
steps:
  - id: kept
    filter: { from: big, where: "k >= 5" }
  - id: by_region
    aggregate:
      from: kept
      group_by: [region]
      measures:
        n: { count: "*" }
        total: { sum: k }
        top: { max: x }
        h: { histogram: k, bins: 4, bounds: [0, 1000] }
outputs: { by_region: { min_group_size: 10 } }
`;

let t: DataHost;
let analyst: AccountKey;
let dataset: string;
let csv: Buffer;

beforeAll(async () => {
  t = await startDataHost({ jobLimits: LIMITS });
  const owner = await accountKeyFromSuri('//StreamJobOwner');
  analyst = await accountKeyFromSuri('//StreamJobAnalyst');
  const lines = ['region,k,x'];
  // About 18 MiB: more than an eighth of 128 MiB, so it streams; the region "few" has 7 rows.
  for (let i = 0; i < 1_100_000; i++) lines.push(`r${i % 13},${(i * 7) % 1000},${(i % 4093) / 3}`);
  for (let i = 0; i < 7; i++) lines.push(`few,${i + 10},1.5`);
  csv = Buffer.from(`${lines.join('\n')}\n`);
  const file = join(t.work, 'big.csv');
  writeFileSync(file, csv);
  ({ dataset } = await t.seal({ owner, analysts: [analyst], file, name: 'big.sealed' }));
}, 240_000);

afterAll(async () => {
  await t?.close();
});

describe('a job over a dataset streamed in chunks', () => {
  it('releases what a run over the whole dataset releases', { timeout: 240_000 }, async () => {
    expect(csv.length).toBeGreaterThan(LIMITS.memoryBytes / 8);
    // The upload's streamed check wrote the dataset's store as it went; the job reads it in pieces.
    const root = join(t.dataDir, 'blobs', 'sha256');
    const stores = readdirSync(root).flatMap((d) =>
      readdirSync(join(root, d)).filter((f) => f.endsWith('.store')),
    );
    expect(stores).toHaveLength(1);
    const outputs = await runToResult(t.host.url, analyst, { pipeline: AGGREGATE, inputs: { big: dataset } });
    const whole = (await runPipeline(parsePipeline(AGGREGATE), { big: await parseDataset(csv, 'csv') }))
      .by_region;
    expect(outputs.by_region?.rows).toEqual(whole?.rows);
    expect(outputs.by_region?.suppressedGroups).toBe(1);
  });
});
