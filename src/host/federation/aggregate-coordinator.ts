/**
 * The host's side of a federated aggregate: it only relays. It asks the coordinating enclave
 * and every member for fresh evidence (its own nonces); has every member check its share and
 * the coordinator before any member spends (a refusal anywhere costs nothing anywhere); then
 * has each take its share (commit its spend on its own ledger, placed on chain before it
 * reads a row) and seal its partial to the coordinator; and hands the sealed partials to the
 * coordinating enclave, which merges them and alone releases a result. The host reads none
 * of it. A member of another node is a RemoteMember (its own host places its spend); a
 * member that fails, refuses or does not answer in time fails the job, naming its node, and
 * nothing is released.
 *
 * Spends: a member that committed its spend keeps it spent when the job fails elsewhere
 * afterwards (a ledger only grows; as for a local DP job that fails once it has spent).
 * The check phase makes that rare: only a failure between the spends and the merge (a node
 * down, a timeout, a data-dependent failure) leaves spends without a result.
 */
import { randomUUID } from 'node:crypto';
import type { SignedLedgerEntry } from '../../contracts/ledger.ts';
import type { JobSpec, ResponseValue } from '../../contracts/enclave-protocol.ts';
import type { Peer, SealedMessage } from '../../federation/channel.ts';
import { JOB_LIMITS, jobCancelled } from '../../pipelines/limits.ts';
import { attestedPeer, type FederationMember } from './remote-member.ts';

/** One dataset of a federated aggregate and the enclave that holds it. */
export interface AggregateMember {
  enclave: FederationMember;
  /** The input as this node's enclave takes it (a RemoteMember sends only its name and dataset id). */
  input: JobSpec['inputs'][number];
}

/** Run an aggregate-only job over `members`' datasets; `coordinator` (an enclave of this node) merges and signs. */
export async function runFederatedAggregate(args: {
  job: Pick<JobSpec, 'id' | 'request' | 'pipeline'>;
  coordinator: FederationMember;
  members: AggregateMember[];
  /** Place a local member's spend entry on chain (and confirm it to that enclave) before it reads data. */
  onLedger: (worker: string, entry: SignedLedgerEntry) => Promise<void>;
  onProgress?: (fraction: number, message: string) => void;
  signal?: AbortSignal;
  /** How long past its own time limit an enclave may take to answer; without it, as long as it takes. */
  graceMs?: number;
}): Promise<ResponseValue<'fed_merge'>> {
  const { job, coordinator, members } = args;
  const progress = args.onProgress ?? (() => {});
  const started = Date.now();
  const checkCancelled = () => {
    if (args.signal?.aborted) throw jobCancelled();
  };
  const opts = (enclave: FederationMember) =>
    args.graceMs === undefined
      ? {}
      : {
          deadlineMs: Math.max(
            1,
            started +
              (enclave.info.limits?.timeoutMs ?? JOB_LIMITS.timeoutMs.default) +
              args.graceMs -
              Date.now(),
          ),
        };
  const peerOf = (enclave: FederationMember): Promise<Peer> => attestedPeer(enclave, opts(enclave));
  const share = (m: AggregateMember) => ({ ...job, inputs: [m.input] });
  // One session per member: two datasets on one worker are two shares there.
  const base = randomUUID();
  const sessions = members.map((_, i) => `${base}:${i}`);
  try {
    const coordinatorPeer = await peerOf(coordinator);
    const peers = await Promise.all(members.map((m) => peerOf(m.enclave)));
    checkCancelled();
    progress(0.1, `checking ${members.length} datasets on their workers`);
    await Promise.all(
      members.map((m) =>
        m.enclave.request(
          'fed_partial_check',
          { job: share(m), coordinator: coordinatorPeer },
          undefined,
          opts(m.enclave),
        ),
      ),
    );
    checkCancelled();
    progress(0.3, 'computing partial aggregates');
    const partials = await Promise.all(
      members.map(async (m, i): Promise<SealedMessage> => {
        const session = sessions[i] as string;
        const taken = await m.enclave.request(
          'fed_partial',
          { session, job: share(m), coordinator: coordinatorPeer },
          undefined,
          opts(m.enclave),
        );
        if ('partial' in taken) return taken.partial;
        await args.onLedger(m.enclave.info.workerId, taken.ledger);
        checkCancelled();
        return (await m.enclave.request('fed_partial_run', { session }, undefined, opts(m.enclave))).partial;
      }),
    );
    checkCancelled();
    progress(0.8, 'merging partial aggregates');
    return await coordinator.request('fed_merge', { job, peers, partials }, undefined, opts(coordinator));
  } finally {
    // A share that was taken but never ran keeps nothing once closed (its spend stands).
    await Promise.all(
      members.map((m, i) =>
        m.enclave.running
          ? m.enclave.request('fed_close', { session: sessions[i] as string }).catch(() => undefined)
          : undefined,
      ),
    );
  }
}
