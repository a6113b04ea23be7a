/**
 * What the enclave benchmarks set up alike: a scratch folder with enclave processes that are
 * stopped (and the folder removed) however the run ends; a plaintext CSV sealed to one
 * enclave for an owner, readable by an analyst, as a job's input; and the filter + aggregate
 * by region that the enclave and federated benchmarks both time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sealDataset } from '../src/cli/seal-dataset.ts';
import type { JobSpec } from '../src/contracts/enclave-protocol.ts';
import { type AccountKey, accountKeyFromSuri } from '../src/crypto/index.ts';
import { EnclaveClient } from '../src/host/enclave-client.ts';

/** A benchmark's scratch folder and a way to start enclave processes whose state lives in it. */
export interface BenchEnclaves {
  /** The scratch folder (for the plaintext and sealed files); removed after the run. */
  dir: string;
  /**
   * Start an enclave process as `workerId`, its state in `dir`/`stateDir` (`state` when
   * absent); it is stopped after the run.
   */
  start(workerId: string, stateDir?: string): Promise<EnclaveClient>;
}

/**
 * Run `body` with a fresh scratch folder named after `prefix` in the temp directory; after
 * it returns or throws, stop every enclave it started and remove the folder. The enclaves
 * start only when `body` asks, so what it does first (writing the data, reading the load)
 * happens before any enclave runs, as the benchmark says.
 */
export async function withBenchEnclave<T>(
  prefix: string,
  body: (b: BenchEnclaves) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const enclaves: EnclaveClient[] = [];
  try {
    return await body({
      dir,
      start: async (workerId, stateDir = 'state') => {
        const e = await EnclaveClient.start({ dataDir: join(dir, stateDir), workerId });
        enclaves.push(e);
        return e;
      },
    });
  } finally {
    await Promise.all(enclaves.map((e) => e.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Seal `file` to `enclave` into `out` for the owner //<accounts>Owner, readable by the analyst
 * //<accounts>Analyst, and describe it as the job input `name` (dataset id: the worker's id
 * unless given).
 */
export async function sealedInput(
  enclave: EnclaveClient,
  opts: { accounts: string; file: string; out: string; name: string; datasetId?: string },
): Promise<{ owner: AccountKey; analyst: AccountKey; input: JobSpec['inputs'][number] }> {
  const owner = await accountKeyFromSuri(`//${opts.accounts}Owner`);
  const analyst = await accountKeyFromSuri(`//${opts.accounts}Analyst`);
  const { signed } = await sealDataset({
    file: opts.file,
    out: opts.out,
    owner,
    worker: { id: enclave.info.workerId, recipient: enclave.info.keys.recipient },
    analysts: [analyst.address],
    measurements: [enclave.info.measurement],
  });
  const datasetId = opts.datasetId ?? enclave.info.workerId;
  return { owner, analyst, input: { name: opts.name, datasetId, blobPath: opts.out, manifest: signed } };
}

/** Filter adults, then count, sum, mean and max of cost by region, as pipeline `name` (JSON). */
export function costByRegion(name: string): string {
  return JSON.stringify({
    obscura: 1,
    name,
    inputs: { visits: { columns: { region: 'string', age: 'int64', cost: 'float64' } } },
    steps: [
      { id: 'adults', filter: { from: 'visits', where: 'age >= 18' } },
      {
        id: 'by_region',
        aggregate: {
          from: 'adults',
          group_by: ['region'],
          measures: {
            patients: { count: '*' },
            total_cost: { sum: 'cost' },
            mean_cost: { mean: 'cost' },
            max_cost: { max: 'cost' },
          },
        },
      },
    ],
    outputs: { by_region: { min_group_size: 10 } },
  });
}
