/**
 * A real test host with data on it: the set-up most end-to-end files open with. It starts a
 * host (startTestHost: enclave, API, this worker's chain), names its first worker, seals CSVs
 * as an owner for some analysts and uploads them (sealAndUpload), and on close stops the host
 * and removes the sealed files. What a file does with the host after that stays in the file.
 *
 * The sealed files go to a scratch folder of their own, not the host's data directory, so a
 * test that reads what the host keeps sees only the host's files.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import type { WorkerRecord } from '../../src/contracts/worker-record.ts';
import type { AccountKey } from '../../src/crypto/index.ts';
import type { SignedManifest } from '../../src/crypto/manifest.ts';
import type { HostOptions } from '../../src/host/api/host.ts';
import { sealAndUpload } from './datasets.ts';
import { startTestHost } from './host.ts';

/** The sample visits (datasets/visits.csv): what a dataset is unless a test says otherwise. */
export const VISITS_CSV = join(PROJECT_ROOT, 'datasets/visits.csv');

/** What to seal and for whom (DataHost.seal). */
export interface SealOptions {
  /** Signs the manifest and uploads the dataset. */
  owner: AccountKey;
  /** The accounts the manifest lets run jobs on it. */
  analysts: AccountKey[];
  /** The dataset policy, as YAML; none when absent. */
  policy?: string;
  /** The CSV to seal; VISITS_CSV when absent. */
  file?: string;
  /** The sealed file's name in `work`; `<n>.sealed`, counting from 1, when absent. */
  name?: string;
  /** The worker to seal to; the host's first when absent. */
  worker?: WorkerRecord;
}

/** A dataset on the host: its id, the manifest its owner signed, and the sealed file uploaded. */
export interface SealedDataset {
  dataset: string;
  signed: SignedManifest;
  /** The sealed file's path (in `work`). */
  sealed: string;
}

/** A running test host as startTestHost returns it. */
export type TestHost = Awaited<ReturnType<typeof startTestHost>>;

/** A running test host that seals and uploads datasets. */
export interface DataHost extends TestHost {
  /** A scratch folder for sealed files and the CSVs a test writes; close removes it. */
  work: string;
  /** The host's first worker (start fails when it has none). */
  worker: WorkerRecord;
  /** Seal a CSV to a worker of this host and upload it as the owner (sealAndUpload). */
  seal(opts: SealOptions): Promise<SealedDataset>;
}

/**
 * startTestHost with `opts`, plus a scratch folder and `seal`; `close` stops the host and
 * removes both its data directory and the scratch folder. Throws when the host has no worker.
 */
export async function startDataHost(opts: Partial<HostOptions> = {}): Promise<DataHost> {
  const t = await startTestHost(opts);
  const worker = t.host.workers.list()[0];
  if (!worker) {
    await t.close();
    throw new Error('the test host has no worker');
  }
  const work = mkdtempSync(join(tmpdir(), 'obscura-data-host-'));
  let n = 0;
  return {
    ...t,
    work,
    worker,
    seal: async (o) => {
      const sealed = join(work, o.name ?? `${++n}.sealed`);
      const up = await sealAndUpload({
        url: t.host.url,
        file: o.file ?? VISITS_CSV,
        out: sealed,
        owner: o.owner,
        worker: o.worker ?? worker,
        analysts: o.analysts.map((a) => a.address),
        ...(o.policy !== undefined ? { policy: o.policy } : {}),
      });
      return { ...up, sealed };
    },
    close: async () => {
      await t.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
