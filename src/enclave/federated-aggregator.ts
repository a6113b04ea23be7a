/**
 * The aggregating enclave's part of federated training (federated.ts runs its sessions).
 * It verifies every worker's attestation and its signed statement (federated-members.ts),
 * checks that the workers' partitions are exactly those the analyst's request binds, merges
 * their encoding statistics into one encoding, averages their updates each round (weighted
 * by rows), and at the end signs the result with the final model and each worker's part
 * (attestation, statement, the sealed statistics it signed), as a federated aggregate does.
 * It sees statistics and weights only, never rows.
 */
import { ObscuraError } from '../common/errors.ts';
import type { HostRequest } from '../contracts/enclave-protocol.ts';
import {
  type FederationMember,
  type ResultBody,
  type ResultReader,
  signResult,
} from '../contracts/result.ts';
import { releaseOutputs, resultReaders } from '../contracts/result-outputs.ts';
import { openFrom, type Peer, type SealedMessage, sealFor } from '../federation/channel.ts';
import {
  type EvalStats,
  EvalStatsSchema,
  EncodingStatsSchema,
  federatedAverage,
  mergeEncoding,
  mergeMetrics,
  type WeightSet,
} from '../federation/merge.ts';
import type { FeatureEncoding } from '../ml/encode.ts';
import { parsePipeline, pipelineHash } from '../pipelines/index.ts';
import type { TrainStep } from '../pipelines/schema.ts';
import {
  assertJobMatchesRequest,
  assertJobRequestSignature,
  jobRequestHash,
} from '../privacy/job-request.ts';
import { assertMemberStatement, memberPart } from './federated-members.ts';
import type { JobContext } from './job-check.ts';
import { type Released, resultEnclave } from './jobs.ts';

/** The job as the host gives it to the aggregator. */
export type AggregatedJob = Extract<HostRequest, { type: 'fed_init' }>['job'];

/** What a worker tells the aggregator about who reads the result, from the manifests it verified. */
export interface Release {
  owners: { account: string; recipient?: string }[];
  open: boolean;
}

/** What a worker seals to the aggregator when it opens its partition: statistics, never rows. */
export interface OpenedPartition {
  stats: unknown;
  inputs: ResultBody['inputs'];
  rows: number;
  minGroupSize: number;
  task: 'classification' | 'regression';
  request: string;
  release: Release;
  /** The worker's signed statement (federated-members.ts) of its share of this job for this aggregator. */
  statement: string;
}

/** The global model the aggregator sends every worker each round. */
export type Global = {
  encoding: FeatureEncoding[];
  label: { mean: number; std: number };
  weights: WeightSet;
};

/** The aggregator's state of one training session. */
export interface AggregatorSession {
  peers: Peer[];
  job: AggregatedJob;
  inputs: ResultBody['inputs'];
  /** Each worker's part of the result, as verified when the session started. */
  members: FederationMember[];
  /** Who the result is sealed to (unless `open`), from the manifests each worker verified. */
  readers: ResultReader[];
  /** Every worker's inputs let the result be public, and the pipeline asked for it. */
  open: boolean;
  encoding: FeatureEncoding[];
  label: { mean: number; std: number };
  weights: WeightSet;
  rows: number[];
  minGroupSize: number;
  rounds: number;
}

/**
 * Open every worker's sealed opening (the peers' attestations already verified) and check
 * what binds it, which depends on the documents alone (so its refusals keep their codes):
 * each worker ran this very request, signed its statement for this job and this aggregator,
 * and together they opened exactly the partitions the analyst's request binds.
 */
export async function openPartitions(
  ctx: JobContext,
  job: AggregatedJob,
  peers: Peer[],
  sealed: SealedMessage[],
): Promise<OpenedPartition[]> {
  const parts = (await Promise.all(
    sealed.map((m, i) => openFrom(m, ctx.ageIdentity, (peers[i] as Peer).keys.signingKey)),
  )) as OpenedPartition[];
  const request = jobRequestHash(job.request.request);
  // Every worker ran this very request (not another one the host swapped in here)…
  if (parts.some((p) => p.request !== request)) {
    throw new ObscuraError(
      'job_request_mismatch',
      "the job does not match the analyst's signed request: request: a worker checked another request",
      422,
      { field: 'request' },
    );
  }
  assertJobRequestSignature(job.request);
  const doc = parsePipeline(job.pipeline);
  const pipeline = pipelineHash(doc);
  // …for this job and this aggregator (statistics replayed from another job, or sent to another aggregator, are not)…
  for (const [i, p] of parts.entries())
    assertMemberStatement(
      peers[i] as Peer,
      { job: job.id, request, pipeline, coordinator: ctx.signingKey, inputs: p.inputs ?? [] },
      p.statement,
      'statistics',
    );
  // …and every partition the analyst bound was opened (and checked against it) by one worker.
  assertJobMatchesRequest(job.request.request, {
    pipelineHash: pipeline,
    outputs: Object.keys(doc.outputs),
    inputs: parts
      .flatMap((p) => p.inputs)
      .map((i) => ({ name: i.name, dataset: i.dataset, manifest: i.manifestHash })),
  });
  return parts;
}

/**
 * Merge the workers' statistics into one encoding and start the model: the session's state.
 * Reads statistics of rows, so the caller runs it as afterData.
 */
export async function startAggregation(
  ctx: JobContext,
  job: AggregatedJob,
  peers: Peer[],
  sealed: SealedMessage[],
  parts: OpenedPartition[],
): Promise<AggregatorSession> {
  const doc = parsePipeline(job.pipeline);
  const stats = parts.map((p) => EncodingStatsSchema.parse(p.stats));
  const minGroupSize = Math.max(...parts.map((p) => p.minGroupSize));
  const { encoding, labelMean, labelStd } = mergeEncoding(stats, minGroupSize);
  const body = doc.steps.find((s) => s.id === job.step)?.train as TrainStep;
  const { buildModel, getWeightSet, trainOptionsOf } = await import('../ml/train.ts');
  const { encodedWidth } = await import('../ml/encode.ts');
  const { mlBackend } = await import('../ml/backend.ts');
  await mlBackend();
  const o = trainOptionsOf(body.options);
  const task = parts[0]?.task ?? 'classification';
  if (parts.some((p) => p.task !== task))
    throw new ObscuraError(
      'federation_invalid',
      'the workers disagree on the kind of model (their labels differ in type)',
      422,
    );
  const model = buildModel(body.model, task, encodedWidth(encoding), o);
  try {
    return {
      peers,
      job,
      inputs: parts.flatMap((p) => p.inputs),
      members: parts.map((p, i) =>
        memberPart(ctx, peers[i] as Peer, p.inputs, p.statement, sealed[i] as SealedMessage),
      ),
      readers: resultReaders(
        { account: job.request.request.analyst, recipient: job.request.request.recipient },
        parts.flatMap((p) => p.release.owners),
      ),
      open: parts.every((p) => p.release.open),
      encoding,
      label: { mean: labelMean, std: labelStd },
      weights: getWeightSet(model),
      rows: parts.map((p) => p.rows),
      minGroupSize,
      rounds: 0,
    };
  } finally {
    model.dispose();
  }
}

/** The global model, sealed to each worker. */
export function broadcast(ctx: JobContext, state: AggregatorSession): Promise<SealedMessage[]> {
  const global: Global = { encoding: state.encoding, label: state.label, weights: state.weights };
  return Promise.all(state.peers.map((p) => sealFor(p.keys.recipient, ctx.signingSeed, global)));
}

/** Average the workers' sealed updates (weighted by rows) into the next global model; one more round. */
export async function averageUpdates(
  ctx: JobContext,
  state: AggregatorSession,
  sealed: SealedMessage[],
): Promise<void> {
  const updates = await Promise.all(
    sealed.map((m, i) => openFrom(m, ctx.ageIdentity, (state.peers[i] as Peer).keys.signingKey)),
  );
  state.weights = federatedAverage(updates as { weights: WeightSet; rows: number }[]);
  state.rounds++;
}

/** Merge the workers' sealed validation statistics and sign the result with the final model and every worker's part. */
export async function trainingResult(
  ctx: JobContext,
  state: AggregatorSession,
  sealed: SealedMessage[],
): Promise<Released> {
  const stats = (
    await Promise.all(
      sealed.map((m, i) => openFrom(m, ctx.ageIdentity, (state.peers[i] as Peer).keys.signingKey)),
    )
  ).map((s) => EvalStatsSchema.parse(s)) as EvalStats[];
  const doc = parsePipeline(state.job.pipeline);
  const body = doc.steps.find((s) => s.id === state.job.step)?.train as TrainStep;
  const { buildModel, setWeightSet, taskOf, trainOptionsOf, rescaleOutput } = await import('../ml/train.ts');
  const { encodedWidth } = await import('../ml/encode.ts');
  const { mlBackend } = await import('../ml/backend.ts');
  const { trainOutput } = await import('../pipelines/ml-run.ts');
  const task = stats[0]?.task ?? taskOf(body.model, 'float64');
  const model = buildModel(body.model, task, encodedWidth(state.encoding), trainOptionsOf(body.options));
  setWeightSet(model, state.weights);
  if (task === 'regression') rescaleOutput(model, state.label.mean, state.label.std);
  const rowsTrain = state.rows.reduce((a, b) => a + b, 0);
  const rowsValidation = stats.reduce((a, s) => a + s.n, 0);
  const output = await trainOutput(
    {
      kind: body.model,
      task,
      backend: await mlBackend(),
      features: body.features,
      label: body.label,
      encoding: state.encoding,
      model,
      lossCurve: [],
      valLossCurve: [],
      epochs: state.rounds * trainOptionsOf(body.options).epochs,
      rows: { train: rowsTrain, validation: rowsValidation },
      metrics: { ...mergeMetrics(stats), rounds: state.rounds, workers: state.peers.length },
    },
    doc.outputs[state.job.step]?.release ?? 'metrics',
    state.minGroupSize,
  );
  model.dispose();
  const outputs = { [state.job.step]: output };
  const released = await releaseOutputs(outputs, { open: state.open, readers: state.readers });
  const result: ResultBody = {
    obscura: 'result/2',
    job: state.job.id,
    analyst: state.job.request.request.analyst,
    request: state.job.request,
    pipeline: { name: doc.name, hash: pipelineHash(doc) },
    inputs: state.inputs,
    outputs: released.outputs,
    enclave: resultEnclave(ctx),
    federation: {
      workers: state.peers.map((p) => ({ worker: p.workerId, signingKey: p.keys.signingKey })),
      rounds: state.rounds,
      // Each worker's attestation and signed statistics, as verified when training started.
      members: state.members,
    },
    createdAt: new Date().toISOString(),
  };
  return {
    signed: signResult(result, ctx.signingSeed),
    ...(released.ciphertext ? { ciphertext: released.ciphertext } : {}),
    outputs,
  };
}
