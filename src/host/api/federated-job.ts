/**
 * Running a federated job from the queue: an input bound to several datasets (their union),
 * or datasets held by other nodes. This node coordinates: it finds each dataset of another
 * node through the chain's registry (locate.ts), reaches that node's worker as a
 * RemoteMember (whose host hands the job to its own enclave, which checks it against its own
 * datasets' policies), and runs either a federated aggregate (every output an aggregate:
 * aggregate-coordinator.ts) or federated training (federation-coordinator.ts).
 */
import { ObscuraError } from '../../common/errors.ts';
import type { JobSpec, ReleasedResult } from '../../contracts/enclave-protocol.ts';
import type { SignedLedgerEntry } from '../../contracts/ledger.ts';
import type { SignedJobRequest } from '../../privacy/job-request.ts';
import { runFederatedAggregate } from '../federation/aggregate-coordinator.ts';
import { locateDatasets } from '../federation/locate.ts';
import { peerAcceptance } from '../federation/peer-attestation.ts';
import { type FederationMember, RemoteMember } from '../federation/remote-member.ts';
import { runFederatedTraining } from '../federation-coordinator.ts';
import type { HostContext } from './context.ts';

type Input = JobSpec['inputs'][number];

/** The pipeline as the runner needs it: its steps and outputs. */
interface PipelineShape {
  outputs: Record<string, unknown>;
  steps: { id: string; join?: unknown; train?: { options?: { rounds?: number } } }[];
}

/** Whether every output of `doc` is an aggregate step (a federated aggregate), rather than a train step. */
export function isAggregateOnly(doc: PipelineShape): boolean {
  return Object.keys(doc.outputs).every((o) => !doc.steps.find((s) => s.id === o)?.train);
}

/** Run a federated job; `localInput` gives a dataset of this node as its enclave takes it. */
export async function runFederatedJob(
  ctx: HostContext,
  args: {
    job: { id: string; worker: string; inputs: Record<string, string | string[]> };
    request: SignedJobRequest;
    pipeline: PipelineShape;
    localInput: (name: string, datasetId: string) => Input;
    onProgress: (fraction: number, message: string) => void;
    onWorkers: (workers: string[]) => void;
    onLedger: (worker: string, entry: SignedLedgerEntry) => Promise<void>;
    signal: AbortSignal;
    graceMs: number;
  },
): Promise<ReleasedResult> {
  const { metadata, workers } = ctx;
  const bound = Object.entries(args.job.inputs).flatMap(([name, ids]) =>
    (Array.isArray(ids) ? ids : [ids]).map((datasetId) => ({ name, datasetId })),
  );
  const remoteIds = bound.filter((b) => !metadata.hasDataset(b.datasetId)).map((b) => b.datasetId);
  if (remoteIds.length > 0 && !ctx.nodes)
    throw new ObscuraError(
      'dataset_not_found',
      `dataset ${remoteIds[0]} is not on this node, which takes no part in a federation`,
      404,
    );
  const located = ctx.nodes
    ? await locateDatasets(ctx.nodes, args.request, remoteIds, peerAcceptance(ctx))
    : new Map();
  const nodes = new Set<string>([...located.values()].map((l) => l.node.url as string));
  if (bound.some((b) => metadata.hasDataset(b.datasetId))) nodes.add('');
  const join = args.pipeline.steps.find((s) => s.join);
  if (join && nodes.size > 1)
    throw new ObscuraError(
      'federation_join_across_nodes',
      `step ${join.id} joins inputs whose datasets are on different nodes: rows on different nodes never meet (private set intersection across nodes is not available); put both inputs on one node`,
      422,
      { step: join.id },
    );
  const members = bound.map((b) => {
    const at = located.get(b.datasetId);
    if (!at || !ctx.nodes)
      return {
        enclave: workers.get(metadata.dataset(b.datasetId).worker) as FederationMember,
        input: args.localInput(b.name, b.datasetId),
        local: true,
      };
    return {
      enclave: new RemoteMember(ctx.nodes.clientFor(at.node.url), at.node, at.nodeWorker) as FederationMember,
      // A RemoteMember sends only the input's name and dataset id: the node holding it supplies the rest.
      input: { name: b.name, datasetId: b.datasetId } as Input,
      local: false,
    };
  });
  args.onWorkers(members.filter((m) => m.local).map((m) => m.enclave.info.workerId));
  const job = { id: args.job.id, request: args.request, pipeline: JSON.stringify(args.pipeline) };
  if (isAggregateOnly(args.pipeline)) {
    return runFederatedAggregate({
      job,
      coordinator: workers.get(args.job.worker),
      members,
      onLedger: args.onLedger,
      onProgress: args.onProgress,
      signal: args.signal,
      graceMs: args.graceMs,
    });
  }
  // Training: the first partition's worker aggregates, and it must be one of this node's.
  const partitions = [...members].sort((a, b) => Number(b.local) - Number(a.local));
  if (!partitions[0]?.local)
    throw new ObscuraError(
      'federation_invalid',
      'federated training across nodes needs one of its datasets on the node that takes the job (its worker aggregates)',
      400,
    );
  const step = Object.keys(args.pipeline.outputs)[0] as string;
  return runFederatedTraining({
    job,
    step,
    rounds: args.pipeline.steps.find((s) => s.id === step)?.train?.options?.rounds ?? 5,
    partitions,
    onProgress: args.onProgress,
    signal: args.signal,
    graceMs: args.graceMs,
    onLedger: args.onLedger,
  });
}
