/**
 * A worker's part of federated training (federated.ts runs its sessions): which train steps
 * may run federated, who reads the result by the manifests this worker verified, the
 * opening of its partition (its training and validation split, its encoding statistics and
 * its signed statement of its share: federated-members.ts), and its model and encoded rows
 * for each round from the aggregator's global model. Its rows never leave it.
 */
import { ObscuraError } from '../common/errors.ts';
import type { JobSpec } from '../contracts/enclave-protocol.ts';
import type { ResultBody } from '../contracts/result.ts';
import { outputsArePublic } from '../contracts/result-outputs.ts';
import type { Peer } from '../federation/channel.ts';
import type { DataColumn, FeatureEncoding } from '../ml/encode.ts';
import type { PipelineDocument, TrainStep } from '../pipelines/schema.ts';
import type { Global, OpenedPartition, Release } from './federated-aggregator.ts';
import { encodingStats } from './federated-encoding.ts';
import { signMemberStatement } from './federated-members.ts';
import type { CheckedJob, JobContext } from './job-check.ts';

/** A worker's state of one training session: its rows, kept in its own memory until it has evaluated. */
export interface WorkerSession {
  aggregator: Peer;
  /** The ledger entry of the approval runs this share used, until its head is confirmed on chain. */
  pending?: number;
  body: TrainStep;
  columns: DataColumn[];
  train: number[];
  validation: number[];
  task: 'classification' | 'regression';
  encoding?: FeatureEncoding[];
  label?: { mean: number; std: number };
}

/** The train step `step` of `doc`, if it can run federated; throws 'federation_invalid' (400) saying why not. */
export function federatedTrainStep(doc: PipelineDocument, step: string): TrainStep {
  const body = doc.steps.find((s) => s.id === step)?.train;
  if (!body || !doc.outputs[step])
    throw new ObscuraError('federation_invalid', `step ${step} is not a train output of the pipeline`, 400);
  if (doc.outputs[step]?.dp)
    throw new ObscuraError(
      'federation_invalid',
      'DP-SGD is not available for federated training in this release',
      400,
    );
  if (body.options?.solver === 'exact')
    throw new ObscuraError(
      'federation_invalid',
      'solver exact is not available for federated training: the federation averages SGD updates (solver sgd)',
      400,
    );
  return body;
}

/** Who reads the result, from the manifests this worker verified: the aggregator never sees them. */
export function releaseOf(job: JobSpec, checked: CheckedJob): Release {
  return {
    owners: job.inputs.map((i) => ({
      account: i.manifest.manifest.owner,
      ...(i.manifest.manifest.resultRecipient ? { recipient: i.manifest.manifest.resultRecipient } : {}),
    })),
    open: outputsArePublic(
      checked.doc.visibility,
      job.inputs.map((i) => checked.manifests.get(i.name)?.policy),
    ),
  };
}

/**
 * Open this worker's partition of the train step's rows: split them, take the encoding
 * statistics of the training part and sign this worker's statement of its share. Returns
 * the session state to keep and what to seal to the aggregator. Reads rows: run as afterData.
 */
export async function openPartition(
  ctx: JobContext,
  args: {
    job: JobSpec;
    step: string;
    aggregator: Peer;
    body: TrainStep;
    captured: { columns: DataColumn[]; minGroupSize: number };
    inputs: ResultBody['inputs'];
    /** jobRequestHash of the request this worker checked. */
    request: string;
    pipeline: string;
    release: Release;
  },
): Promise<{ worker: WorkerSession; opening: OpenedPartition }> {
  const { step, body, captured } = args;
  const { seededSplit } = await import('../ml/split.ts');
  const { taskOf, trainOptionsOf } = await import('../ml/train.ts');
  const columns = captured.columns;
  const n = columns[0]?.values.length ?? 0;
  if (n < captured.minGroupSize)
    throw new ObscuraError(
      'ml_too_few_rows',
      `step ${step}: too few rows on a worker (fewer than min_group_size)`,
      422,
    );
  const o = trainOptionsOf(body.options);
  const split = seededSplit(n, o.validationSplit, o.seed);
  const label = columns[columns.length - 1] as DataColumn;
  const task = taskOf(body.model, label.type);
  const stats = encodingStats(columns, split.train, o.maxCategories, step);
  return {
    worker: {
      aggregator: args.aggregator,
      body,
      columns,
      train: split.train,
      validation: split.validation,
      task,
    },
    opening: {
      stats,
      inputs: args.inputs,
      rows: split.train.length,
      minGroupSize: captured.minGroupSize,
      task,
      request: args.request,
      release: args.release,
      statement: signMemberStatement(ctx, {
        job: args.job.id,
        request: args.request,
        pipeline: args.pipeline,
        coordinator: args.aggregator.keys.signingKey,
        inputs: args.inputs,
      }),
    },
  };
}

/** The step's model with the global weights. */
export async function workerModel(w: WorkerSession, global: Global) {
  const { mlBackend } = await import('../ml/backend.ts');
  await mlBackend();
  const { buildModel, setWeightSet, trainOptionsOf } = await import('../ml/train.ts');
  const { encodedWidth } = await import('../ml/encode.ts');
  const model = buildModel(
    w.body.model,
    w.task,
    encodedWidth(global.encoding),
    trainOptionsOf(w.body.options),
  );
  setWeightSet(model, global.weights);
  return model;
}

/** The rows `idx` of this worker encoded with the global encoding; labels standardised for a regression. */
export async function workerRows(w: WorkerSession, global: Global, idx: number[]) {
  const { encodeRows, encodeLabels, encodedWidth } = await import('../ml/encode.ts');
  const x = encodeRows(global.encoding, w.columns.slice(0, -1), idx);
  const raw = encodeLabels(w.columns[w.columns.length - 1] as DataColumn, idx, w.task, w.body.label);
  const y = w.task === 'regression' ? raw.map((v) => (v - global.label.mean) / global.label.std) : raw;
  return { x, y, raw, width: encodedWidth(global.encoding) };
}
