/**
 * What both halves of the crash harness share (crash-uploads.test.ts, crash-jobs.test.ts):
 * a data directory on the worker's chain (worker-chain.ts), a 300-row slice of the sample visits, an
 * owner and an analyst, a real `obscura serve` (node.ts) booted to die at a failpoint, and
 * the calls the tests make of it. Two files, so the two halves run beside each other (or
 * beside other files) instead of one after another.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainClient } from '../../src/chain/index.ts';
import { ApiClient } from '../../src/cli/client.ts';
import { submitJob } from '../../src/client/job-request.ts';
import type { Failpoint } from '../../src/common/failpoint.ts';
import { JobRecordSchema } from '../../src/contracts/api-records.ts';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import type { SignedManifest } from '../../src/crypto/manifest.ts';
import type { WorkerRecord } from '../../src/contracts/worker-record.ts';
import { sealAndUpload } from '../helpers/datasets.ts';
import { workerChain } from '../helpers/worker-chain.ts';
import { boot, checkInvariants, crashed, type Node, settledJobs, stop } from './node.ts';

/** The datasets' policy: any pipeline, groups of 5, a small DP budget. */
export const POLICY =
  'obscura-policy: 1\npipelines: any\nmin_group_size: 5\ndp: { epsilon: 3, delta: 1.0e-5, max_epsilon_per_job: 1 }\n';

/** A node on its own data directory and the calls the crash tests make of it. */
export class CrashRig {
  private constructor(
    readonly work: string,
    readonly dataDir: string,
    private readonly csv: string,
    readonly owner: AccountKey,
    readonly analyst: AccountKey,
    readonly chain: string,
    public node: Node,
    readonly worker: WorkerRecord,
  ) {}

  /**
   * Boot a node on a fresh data directory, dying first at `first`. Its chain is the worker's
   * (worker-chain.ts), which outlives every crash: only the node dies, its host and enclave
   * processes, and each restart starts those two again, not a chain.
   */
  static async start(name: string, first: Failpoint): Promise<CrashRig> {
    const work = mkdtempSync(join(tmpdir(), `obscura-faults-${name}-`));
    const dataDir = join(work, 'node');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const chain = (await workerChain()).endpoint;
    const csv = join(work, 'visits.csv');
    writeFileSync(
      csv,
      `${readFileSync(join(PROJECT_ROOT, 'datasets/visits.csv'), 'utf8').split('\n').slice(0, 301).join('\n')}\n`,
    );
    const owner = await accountKeyFromSuri('//FaultsOwner');
    const analyst = await accountKeyFromSuri('//FaultsAnalyst');
    const node = await boot(dataDir, chain, first);
    const { workers } = (await new ApiClient(node.url, owner).get('/v1/workers')) as {
      workers: WorkerRecord[];
    };
    return new CrashRig(work, dataDir, csv, owner, analyst, chain, node, workers[0] as WorkerRecord);
  }

  /** Seal the slice to the worker and upload it as the owner. */
  upload(name: string): Promise<{ dataset: string; signed: SignedManifest }> {
    return sealAndUpload({
      url: this.node.url,
      file: this.csv,
      out: join(this.work, `${name}.sealed`),
      owner: this.owner,
      worker: this.worker,
      analysts: [this.analyst.address],
      policy: POLICY,
    });
  }

  /** Submit `pipeline` over `dataset` as the analyst. */
  async submit(pipeline: string, dataset: string) {
    return JobRecordSchema.parse(
      await submitJob(new ApiClient(this.node.url, this.analyst), this.analyst, {
        pipeline,
        inputs: { visits: dataset },
      }),
    );
  }

  /**
   * One client of the chain for every check of the rig: the chain outlives every crash of the
   * node, and a connection costs ~0.2 CPU-s (polkadot.js fetching and decoding the metadata).
   */
  private chainClient: { endpoint: string; client: Promise<ChainClient> } | undefined;

  private chainAt = (endpoint: string): Promise<ChainClient> => {
    if (this.chainClient?.endpoint !== endpoint) {
      void this.chainClient?.client.then((c) => c.close()).catch(() => {});
      const client = ChainClient.connect(endpoint).catch((e: unknown) => {
        this.chainClient = undefined;
        throw e;
      });
      this.chainClient = { endpoint, client };
    }
    return this.chainClient.client;
  };

  /** The invariants every restart must show (node.ts), and what they read. */
  invariants() {
    return checkInvariants({
      node: this.node,
      dataDir: this.dataDir,
      owner: this.owner,
      analyst: this.analyst,
      chainAt: this.chainAt,
    });
  }

  /** The analyst's job `id` once every job is final. */
  async job(id: string) {
    return (await settledJobs(this.node.url, this.analyst)).find((j) => j.id === id);
  }

  /** Restart after a crash, dying next at `next` (if given). */
  async restart(next?: Failpoint): Promise<void> {
    await crashed(this.node);
    this.node = await boot(this.dataDir, this.chain, next);
  }

  /** Stop the node and remove its directory. */
  async close(): Promise<void> {
    await this.chainClient?.client.then((c) => c.close()).catch(() => {});
    await stop(this.node);
    rmSync(this.work, { recursive: true, force: true });
  }
}
