/**
 * The host's side of federated training: it only relays. It asks each worker for fresh
 * evidence (its own nonce), introduces the aggregator (the first worker) to every worker
 * and every worker to the aggregator, and carries their sealed messages round by round:
 * statistics, global models, updates, validation statistics. It can read none of them;
 * rows never leave their worker. The aggregator signs the result.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { EnclaveClient } from '../enclave/client.ts';
import type { SignedLedgerEntry } from '../enclave/ledger.ts';
import type { JobSpec, ResponseValue } from '../enclave/protocol.ts';
import type { Peer } from './channel.ts';
import { jobCancelled } from '../pipelines/limits.ts';

/** One worker's part of a federated job: its enclave and the input sealed to it. */
export interface Partition {
  enclave: EnclaveClient;
  input: JobSpec['inputs'][number];
}

/** Run the train output `step` of `job` across the partitions' workers; the first aggregates. */
export async function runFederatedTraining(args: {
  job: Pick<JobSpec, 'id' | 'request' | 'pipeline'>;
  step: string;
  rounds: number;
  partitions: Partition[];
  onProgress?: (fraction: number, message: string) => void;
  /** Aborted when the job's analyst cancels it: the job stops before its next round. */
  signal?: AbortSignal;
  /** Place a worker's ledger entry (approval runs it used) on chain; it trains no round before. */
  onLedger?: (worker: string, entry: SignedLedgerEntry) => Promise<void>;
}): Promise<ResponseValue<'fed_finish'>> {
  const { job, step, partitions } = args;
  const progress = args.onProgress ?? (() => {});
  const checkCancelled = () => {
    if (args.signal?.aborted) throw jobCancelled();
  };
  const session = randomUUID();
  const peers: Peer[] = [];
  for (const p of partitions) {
    const nonce = randomBytes(32).toString('hex');
    const { evidence } = await p.enclave.request('attest', { nonce });
    peers.push({ workerId: p.enclave.info.workerId, keys: p.enclave.info.keys, evidence, nonce });
  }
  const aggregator = partitions[0]?.enclave as EnclaveClient;
  progress(0.05, `opening ${partitions.length} partitions`);
  const opened = await Promise.all(
    partitions.map((p) => p.enclave.request('fed_open', { session, job: { ...job, inputs: [p.input] }, step, aggregator: peers[0] as Peer })),
  );
  for (const [i, o] of opened.entries()) {
    if (!o.ledger) continue;
    if (!args.onLedger) throw new Error('a worker used approval runs but the coordinator cannot place ledger entries');
    await args.onLedger((partitions[i] as Partition).enclave.info.workerId, o.ledger);
  }
  let { global } = await aggregator.request('fed_init', { session, job: { ...job, step }, peers, stats: opened.map((o) => o.stats) });
  for (let r = 1; r <= args.rounds; r++) {
    checkCancelled();
    progress(0.1 + (0.8 * (r - 1)) / args.rounds, `round ${r} of ${args.rounds}`);
    const updates = await Promise.all(partitions.map((p, i) => p.enclave.request('fed_round', { session, global: global[i] as ResponseValue<'fed_init'>['global'][number] })));
    ({ global } = await aggregator.request('fed_average', { session, updates: updates.map((u) => u.update) }));
  }
  checkCancelled();
  progress(0.9, 'evaluating');
  const stats = await Promise.all(partitions.map((p, i) => p.enclave.request('fed_evaluate', { session, global: global[i] as ResponseValue<'fed_init'>['global'][number] })));
  return aggregator.request('fed_finish', { session, stats: stats.map((s) => s.stats) });
}
