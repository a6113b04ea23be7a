/**
 * The host's side of federated training: it only relays. It asks each worker for fresh
 * evidence (its own nonce), introduces the aggregator (the first worker) to every worker
 * and every worker to the aggregator, and carries their sealed messages round by round:
 * statistics, global models, updates, validation statistics. It can read none of them;
 * rows never leave their worker. The aggregator signs the result.
 *
 * The enclaves enforce the job's limits and stop a cancelled job themselves, mid-round; the
 * host stops sending at a cancel, tells every worker to stop as soon as one fails, closes
 * the session on every worker however the job ends, and (given a grace period) kills an
 * enclave that has not answered by its time limit plus the grace, as for a local job.
 */
import { randomUUID } from 'node:crypto';
import { attestedPeer, type FederationMember } from './federation/remote-member.ts';
import type { SignedLedgerEntry } from '../contracts/ledger.ts';
import type { HostRequest, HostRequestType, JobSpec, ResponseValue } from '../contracts/enclave-protocol.ts';
import type { Peer } from '../federation/channel.ts';
import { JOB_LIMITS, jobCancelled } from '../pipelines/limits.ts';

/** One worker's part of a federated job: its enclave (this host's, or another node's: remote-member.ts) and the input sealed to it. */
export interface Partition {
  enclave: FederationMember;
  input: JobSpec['inputs'][number];
}

/** Run the train output `step` of `job` across the partitions' workers; the first aggregates. */
export async function runFederatedTraining(args: {
  job: Pick<JobSpec, 'id' | 'request' | 'pipeline'>;
  step: string;
  rounds: number;
  partitions: Partition[];
  onProgress?: (fraction: number, message: string) => void;
  /** Aborted when the job's analyst cancels it (the enclaves are told by cancel_job): nothing more is sent. */
  signal?: AbortSignal;
  /** Place a worker's ledger entry (approval runs it used) on chain; it trains no round before. */
  onLedger?: (worker: string, entry: SignedLedgerEntry) => Promise<void>;
  /**
   * How long past its own time limit an enclave may take to answer before the host kills it
   * (work it cannot interrupt); without it, the host waits as long as the enclaves take.
   */
  graceMs?: number;
}): Promise<ResponseValue<'fed_finish'>> {
  const { job, step, partitions } = args;
  const progress = args.onProgress ?? (() => {});
  const checkCancelled = () => {
    if (args.signal?.aborted) throw jobCancelled();
  };
  const session = randomUUID();
  const started = Date.now();
  // Each enclave's limit runs from its first session request; the host's clock started earlier, so it is never late.
  const deadlineOf = (enclave: FederationMember) =>
    args.graceMs === undefined
      ? undefined
      : started + (enclave.info.limits?.timeoutMs ?? JOB_LIMITS.timeoutMs.default) + args.graceMs;
  const ask = <T extends HostRequestType>(
    enclave: FederationMember,
    type: T,
    body: RequestBody<T>,
  ): Promise<ResponseValue<T>> => {
    const deadline = deadlineOf(enclave);
    return enclave.request(
      type,
      body,
      undefined,
      deadline === undefined ? {} : { deadlineMs: Math.max(1, deadline - Date.now()) },
    );
  };
  const aggregator = partitions[0]?.enclave as FederationMember;
  try {
    const peers: Peer[] = [];
    for (const p of partitions) {
      checkCancelled();
      peers.push(await attestedPeer(p.enclave));
    }
    checkCancelled();
    progress(0.05, `opening ${partitions.length} partitions`);
    const opened = await allOrStop(
      partitions.map((p) =>
        ask(p.enclave, 'fed_open', {
          session,
          job: { ...job, inputs: [p.input] },
          step,
          aggregator: peers[0] as Peer,
        }),
      ),
      () => close(partitions, session),
    );
    for (const [i, o] of opened.entries()) {
      if (!o.ledger) continue;
      if (!args.onLedger)
        throw new Error('a worker used approval runs but the coordinator cannot place ledger entries');
      await args.onLedger((partitions[i] as Partition).enclave.info.workerId, o.ledger);
    }
    checkCancelled();
    let { global } = await ask(aggregator, 'fed_init', {
      session,
      job: { ...job, step },
      peers,
      stats: opened.map((o) => o.stats),
    });
    for (let r = 1; r <= args.rounds; r++) {
      checkCancelled();
      progress(0.1 + (0.8 * (r - 1)) / args.rounds, `round ${r} of ${args.rounds}`);
      const updates = await allOrStop(
        partitions.map((p, i) =>
          ask(p.enclave, 'fed_round', {
            session,
            global: global[i] as ResponseValue<'fed_init'>['global'][number],
          }),
        ),
        () => close(partitions, session),
      );
      ({ global } = await ask(aggregator, 'fed_average', { session, updates: updates.map((u) => u.update) }));
    }
    checkCancelled();
    progress(0.9, 'evaluating');
    const stats = await allOrStop(
      partitions.map((p, i) =>
        ask(p.enclave, 'fed_evaluate', {
          session,
          global: global[i] as ResponseValue<'fed_init'>['global'][number],
        }),
      ),
      () => close(partitions, session),
    );
    return await ask(aggregator, 'fed_finish', { session, stats: stats.map((s) => s.stats) });
  } finally {
    // Whatever happened, no worker keeps the session's rows, models or guard.
    await close(partitions, session);
  }
}

type RequestBody<T extends HostRequestType> = Omit<Extract<HostRequest, { type: T }>, 'id' | 'type'>;

/** Tell every worker that is still running to stop and forget `session`; a worker that cannot be told has lost it anyway. */
async function close(partitions: Partition[], session: string): Promise<void> {
  await Promise.all(
    partitions
      .filter((p) => p.enclave.running)
      .map((p) => p.enclave.request('fed_close', { session }).catch(() => undefined)),
  );
}

/**
 * Every answer, or the first failure, once every request has settled: on the first
 * failure `stop` tells the others to stop at once (their rounds need not run on for
 * nothing), and the host waits until they have let go, so the next job finds them idle.
 */
async function allOrStop<T>(requests: Promise<T>[], stop: () => Promise<void>): Promise<T[]> {
  let first: { error: unknown } | undefined;
  const settled = await Promise.allSettled(
    requests.map((r) =>
      r.catch(async (error: unknown) => {
        if (!first) {
          first = { error };
          await stop();
        }
        throw error;
      }),
    ),
  );
  if (first) throw first.error;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}
