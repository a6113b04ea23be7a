/**
 * Federated training inside the enclaves (src/federation holds the pieces that merge).
 * Every worker checks the job against its own datasets' policies exactly as for a local
 * job, runs the pipeline up to the train step and keeps those rows in its own memory; from
 * then on only encrypted, signed messages to and from the aggregator — one of the workers,
 * whose attestation every worker verified — leave it: encoding statistics, model weights
 * and validation statistics, never rows. The aggregator verifies every worker's
 * attestation, merges the statistics into one encoding, averages the weights each round
 * (weighted by rows), and finally signs the result like any other. Every step after a
 * worker opened its data may fail because of the rows, so such failures leave every
 * enclave as the one data-free job_data_condition (data-condition.ts).
 *
 * Each enclave's part of a federated job runs under its per-job limits, like a local job:
 * one guard per session, from the first request that opens it to its close, so the time
 * limit spans every round; the rows the worker keeps pass the row limit, and its pipeline
 * part runs under the memory limit. The guard's deadline, a cancel_job for the session's
 * job, a fed_close from the host or any failure end the session: its rows and models are
 * dropped at once (also when no request is in flight), an in-flight round stops at its next
 * batch, and later requests for the session fail with the reason it ended.
 */
import { isObscuraError, ObscuraError } from '../common/errors.ts';
import { type Peer, openFrom, sealFor, verifyPeer, type SealedMessage } from '../federation/channel.ts';
import {
  type EncodingStats,
  EncodingStatsSchema,
  type EvalStats,
  EvalStatsSchema,
  evalStats,
  federatedAverage,
  mergeEncoding,
  mergeMetrics,
  type WeightSet,
} from '../federation/merge.ts';
import type { DataColumn, FeatureEncoding } from '../ml/encode.ts';
import { parsePipeline, pipelineHash, type PipelineOutput } from '../pipelines/index.ts';
import type { TrainStep } from '../pipelines/schema.ts';
import {
  assertJobMatchesRequest,
  assertJobRequestSignature,
  jobRequestHash,
} from '../privacy/job-request.ts';
import { afterData, dataCondition } from './data-condition.ts';
import { JobGuard, jobCancelled } from '../pipelines/limits.ts';
import {
  checkJob,
  consume,
  type JobContext,
  openAndRun,
  type Released,
  resultEnclave,
  resultInput,
} from './jobs.ts';
import type { SignedLedgerEntry } from '../contracts/ledger.ts';
import type { HostRequest, JobSpec } from '../contracts/enclave-protocol.ts';
import { type ResultBody, type ResultReader, signResult } from '../contracts/result.ts';
import { outputsArePublic, releaseOutputs, resultReaders } from '../contracts/result-outputs.ts';

interface WorkerSession {
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

interface AggregatorSession {
  peers: Peer[];
  job: Extract<HostRequest, { type: 'fed_init' }>['job'];
  inputs: ResultBody['inputs'];
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

/** What a worker tells the aggregator about who reads the result, from the manifests it verified. */
interface Release {
  owners: { account: string; recipient?: string }[];
  open: boolean;
}

type Global = { encoding: FeatureEncoding[]; label: { mean: number; std: number }; weights: WeightSet };

/**
 * One federated session on this enclave: the job it serves, the guard its work runs under,
 * and its state as a worker and (on the aggregating enclave) as the aggregator. Once it has
 * ended, only the reason is kept, until the host closes it.
 */
interface Session {
  job: string;
  guard: JobGuard;
  worker?: WorkerSession;
  aggregator?: AggregatorSession;
  ended?: ObscuraError;
}

/** The federated sessions one enclave takes part in (as a worker, and as the aggregator). */
export class FederatedSessions {
  readonly #sessions = new Map<string, Session>();

  constructor(private readonly ctx: JobContext) {}

  #allowSimulated(): boolean {
    return this.ctx.tee === 'simulated';
  }

  /** How many sessions this enclave holds (ended ones included, until closed). */
  get size(): number {
    return this.#sessions.size;
  }

  /**
   * The session `session` of `job`, made (with its guard, whose clock starts now) if this
   * is its first request here. Synchronous, so that a close or cancel the host sends after
   * this request always finds it.
   */
  #begin(session: string, job: string): Session {
    const known = this.#sessions.get(session);
    if (known) {
      if (known.job !== job)
        throw new ObscuraError(
          'federation_invalid',
          `federated session ${session} belongs to another job`,
          409,
        );
      return known;
    }
    const guard = new JobGuard(this.ctx.limits);
    const s: Session = { job, guard };
    // The deadline or a cancel drops the session's rows even while no request is in flight.
    guard.signal.addEventListener('abort', () => this.#end(s, guard.signal.reason as ObscuraError), {
      once: true,
    });
    this.#sessions.set(session, s);
    return s;
  }

  /** A session that has not ended; throws why it ended, or 404 when there is none. */
  #live(session: string): Session {
    const s = this.#sessions.get(session);
    if (!s)
      throw new ObscuraError('federation_invalid', `no federated session ${session} on this worker`, 404);
    if (s.ended) throw s.ended;
    s.guard.check();
    return s;
  }

  /** End a session: drop its rows and models, keep (data-free) why. */
  #end(s: Session, reason: ObscuraError): void {
    if (s.ended) return;
    s.ended = reason;
    delete s.worker;
    delete s.aggregator;
    // Stops whatever else still works on the session (its abort finds it ended already).
    s.guard.cancel();
    s.guard.dispose();
  }

  /**
   * Run one request's work on a session; any failure ends the session. `read`: the work is
   * on data already read, so its failures leave as dataCondition() (as afterData does).
   */
  async #within<T>(s: Session, fn: () => Promise<T>, read = false): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const failure = read ? dataCondition(e) : e;
      this.#end(s, isObscuraError(failure) ? failure : dataCondition(failure));
      throw failure;
    }
  }

  /** Forget a session once it has neither worker nor aggregator state left (its job is done here). */
  #settle(session: string, s: Session): void {
    if (s.worker || s.aggregator || s.ended) return;
    s.guard.dispose();
    this.#sessions.delete(session);
  }

  /**
   * Stop the sessions of `job` (its analyst cancelled it): in-flight work stops at its next
   * batch or query with 'job_cancelled'. Returns whether any was here.
   */
  cancel(job: string): boolean {
    let found = false;
    for (const s of this.#sessions.values()) {
      if (s.job !== job) continue;
      found = true;
      s.guard.cancel();
    }
    return found;
  }

  /** The host is done with a session (ended, failed or finished): stop it and forget it. */
  close(session: string): { closed: boolean } {
    const s = this.#sessions.get(session);
    if (!s) return { closed: false };
    this.#end(s, jobCancelled());
    this.#sessions.delete(session);
    return { closed: true };
  }

  /**
   * Worker: check the job (its input is one of the request's partitions), take its request
   * and approval runs, open the input, keep the train step's rows, send encoding statistics
   * to the aggregator. Approval runs are a ledger entry (`ledger`) whose head the host must
   * place on chain before this worker trains a round.
   */
  async open(
    session: string,
    job: JobSpec,
    step: string,
    aggregator: Peer,
  ): Promise<{ stats: SealedMessage; ledger?: SignedLedgerEntry }> {
    const s = this.#begin(session, job.id);
    if (s.ended) throw s.ended;
    if (s.worker)
      throw new ObscuraError(
        'federation_invalid',
        `federated session ${session} is already open on this worker`,
        409,
      );
    return this.#within(s, () => this.#open(s, job, step, aggregator));
  }

  async #open(
    s: Session,
    job: JobSpec,
    step: string,
    aggregator: Peer,
  ): Promise<{ stats: SealedMessage; ledger?: SignedLedgerEntry }> {
    await verifyPeer(aggregator, this.ctx.measurement, this.#allowSimulated());
    const checked = checkJob(job, this.ctx, { partial: true });
    const ledger = await consume(job.id, checked, [], this.ctx, () => {});
    const body = checked.doc.steps.find((s) => s.id === step)?.train;
    if (!body || !checked.doc.outputs[step])
      throw new ObscuraError('federation_invalid', `step ${step} is not a train output of the pipeline`, 400);
    if (checked.doc.outputs[step]?.dp)
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
    let captured: { columns: DataColumn[]; minGroupSize: number } | undefined;
    // The worker's part of the pipeline runs under the session's guard: its rows, time and memory.
    const { opened } = await openAndRun(
      job,
      this.ctx,
      () => {},
      () => {},
      checked,
      {
        guard: s.guard,
        trainer: async (_step, columns, minGroupSize): Promise<PipelineOutput> => {
          captured = { columns, minGroupSize };
          return { columns: [], rows: [], suppressedGroups: 0, minGroupSize };
        },
      },
    );
    const rows = captured;
    if (!rows) throw new ObscuraError('federation_invalid', `step ${step} produced no rows`, 400);
    // Who reads the result, from the manifests this worker verified: the aggregator never sees them.
    const release: Release = {
      owners: job.inputs.map((i) => ({
        account: i.manifest.manifest.owner,
        ...(i.manifest.manifest.resultRecipient ? { recipient: i.manifest.manifest.resultRecipient } : {}),
      })),
      open: outputsArePublic(
        checked.doc.visibility,
        job.inputs.map((i) => checked.manifests.get(i.name)?.policy),
      ),
    };
    return afterData(() =>
      this.#opened(s, job, step, aggregator, body, rows, opened, {
        request: jobRequestHash(checked.request),
        release,
        ...(ledger ? { ledger } : {}),
      }),
    );
  }

  async #opened(
    s: Session,
    job: JobSpec,
    step: string,
    aggregator: Peer,
    body: TrainStep,
    captured: { columns: DataColumn[]; minGroupSize: number },
    opened: Awaited<ReturnType<typeof openAndRun>>['opened'],
    taken: { request: string; release: Release; ledger?: SignedLedgerEntry },
  ): Promise<{ stats: SealedMessage; ledger?: SignedLedgerEntry }> {
    const { ledger } = taken;
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
    // Kept only if the session still stands (a cancel or close may have come in meanwhile).
    s.guard.check();
    s.worker = {
      aggregator,
      body,
      columns,
      train: split.train,
      validation: split.validation,
      task,
      ...(ledger ? { pending: ledger.entry.seq } : {}),
    };
    const inputs = job.inputs.map((input, i) => resultInput(input, opened[i] as (typeof opened)[number]));
    const sealed = await sealFor(aggregator.keys.recipient, this.ctx.signingSeed, {
      stats,
      inputs,
      rows: split.train.length,
      minGroupSize: captured.minGroupSize,
      task,
      request: taken.request,
      release: taken.release,
    });
    return { stats: sealed, ...(ledger ? { ledger } : {}) };
  }

  /** Aggregator: verify every worker, merge their statistics into one encoding, start the model, send it to each. */
  async init(
    session: string,
    job: AggregatorSession['job'],
    peers: Peer[],
    sealed: SealedMessage[],
  ): Promise<SealedMessage[]> {
    if (peers.length < 2 || peers.length !== sealed.length)
      throw new ObscuraError(
        'federation_invalid',
        'federated training needs two or more workers, each with its statistics',
        400,
      );
    const s = this.#begin(session, job.id);
    if (s.ended) throw s.ended;
    if (s.aggregator)
      throw new ObscuraError(
        'federation_invalid',
        `federated session ${session} is already aggregated here`,
        409,
      );
    return this.#within(s, () => this.#init(s, job, peers, sealed));
  }

  async #init(
    s: Session,
    job: AggregatorSession['job'],
    peers: Peer[],
    sealed: SealedMessage[],
  ): Promise<SealedMessage[]> {
    for (const p of peers) await verifyPeer(p, this.ctx.measurement, this.#allowSimulated());
    return afterData(async () => {
      const opened = await Promise.all(
        sealed.map((m, i) => openFrom(m, this.ctx.ageIdentity, (peers[i] as Peer).keys.signingKey)),
      );
      const parts = opened.map(
        (o) =>
          o as {
            stats: unknown;
            inputs: ResultBody['inputs'];
            rows: number;
            minGroupSize: number;
            task: 'classification' | 'regression';
            request: string;
            release: Release;
          },
      );
      // Every worker ran this very request (not another one the host swapped in here)…
      if (parts.some((p) => p.request !== jobRequestHash(job.request.request))) {
        throw new ObscuraError(
          'job_request_mismatch',
          "the job does not match the analyst's signed request: request: a worker checked another request",
          422,
          { field: 'request' },
        );
      }
      // …and every partition the analyst bound was opened (and checked against it) by one worker.
      assertJobRequestSignature(job.request);
      const doc0 = parsePipeline(job.pipeline);
      assertJobMatchesRequest(job.request.request, {
        pipelineHash: pipelineHash(doc0),
        outputs: Object.keys(doc0.outputs),
        inputs: parts
          .flatMap((p) => p.inputs)
          .map((i) => ({ name: i.name, dataset: i.dataset, manifest: i.manifestHash })),
      });
      const stats = parts.map((p) => EncodingStatsSchema.parse(p.stats));
      const minGroupSize = Math.max(...parts.map((p) => p.minGroupSize));
      const { encoding, labelMean, labelStd } = mergeEncoding(stats, minGroupSize);
      const body = parsePipeline(job.pipeline).steps.find((s) => s.id === job.step)?.train as TrainStep;
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
      const state: AggregatorSession = {
        peers,
        job,
        inputs: parts.flatMap((p) => p.inputs),
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
      model.dispose();
      s.guard.check();
      s.aggregator = state;
      return this.#broadcast(state);
    });
  }

  async #broadcast(state: AggregatorSession): Promise<SealedMessage[]> {
    const global: Global = { encoding: state.encoding, label: state.label, weights: state.weights };
    return Promise.all(state.peers.map((p) => sealFor(p.keys.recipient, this.ctx.signingSeed, global)));
  }

  async #global(s: Session, sealed: SealedMessage): Promise<{ w: WorkerSession; global: Global }> {
    const w = s.worker;
    if (!w)
      throw new ObscuraError(
        'federation_invalid',
        'the federated session was not opened on this worker',
        404,
      );
    if (w.pending !== undefined && !this.ctx.ledger.isConfirmed(w.pending)) {
      throw new ObscuraError(
        'ledger_unconfirmed',
        `ledger entry #${w.pending} (the approval runs this share used) is not yet placed on chain`,
        409,
      );
    }
    const global = (await openFrom(sealed, this.ctx.ageIdentity, w.aggregator.keys.signingKey)) as Global;
    w.encoding = global.encoding;
    w.label = global.label;
    return { w, global };
  }

  async #model(w: WorkerSession, global: Global) {
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

  #xy(w: WorkerSession, global: Global, idx: number[]) {
    return import('../ml/encode.ts').then(({ encodeRows, encodeLabels, encodedWidth }) => {
      const x = encodeRows(global.encoding, w.columns.slice(0, -1), idx);
      const raw = encodeLabels(w.columns[w.columns.length - 1] as DataColumn, idx, w.task, w.body.label);
      const y = w.task === 'regression' ? raw.map((v) => (v - global.label.mean) / global.label.std) : raw;
      return { x, y, raw, width: encodedWidth(global.encoding) };
    });
  }

  /** Worker: train on its own rows from the global weights for the step's epochs, send the update. */
  async round(session: string, sealed: SealedMessage): Promise<SealedMessage> {
    const s = this.#live(session);
    return this.#within(s, async () => {
      const { w, global } = await this.#global(s, sealed);
      return afterData(async () => {
        const { fitMore, getWeightSet, trainOptionsOf } = await import('../ml/train.ts');
        const model = await this.#model(w, global);
        try {
          const { x, y, width } = await this.#xy(w, global, w.train);
          const o = trainOptionsOf(w.body.options);
          // The guard stops the round between batches: at the deadline, on a cancel or a close.
          await fitMore(model, x, y, width, o.epochs, o.batchSize, () => s.guard.checkpoint());
          const update = { weights: getWeightSet(model), rows: w.train.length };
          return await sealFor(w.aggregator.keys.recipient, this.ctx.signingSeed, update);
        } finally {
          model.dispose();
        }
      });
    });
  }

  /** Aggregator: average the workers' updates (weighted by rows) into the next global model. */
  async average(session: string, sealed: SealedMessage[]): Promise<SealedMessage[]> {
    const s = this.#live(session);
    const state = s.aggregator;
    if (!state)
      throw new ObscuraError('federation_invalid', `no federated session ${session} aggregated here`, 404);
    return this.#within(
      s,
      async () => {
        const updates = await Promise.all(
          sealed.map((m, i) => openFrom(m, this.ctx.ageIdentity, (state.peers[i] as Peer).keys.signingKey)),
        );
        state.weights = federatedAverage(updates as { weights: WeightSet; rows: number }[]);
        state.rounds++;
        return this.#broadcast(state);
      },
      true,
    );
  }

  /** Worker: score the global model on its validation rows; send the statistics; forget the rows. */
  async evaluate(session: string, sealed: SealedMessage): Promise<SealedMessage> {
    const s = this.#live(session);
    return this.#within(s, async () => {
      const { w, global } = await this.#global(s, sealed);
      const stats = await afterData(async () => {
        const { predict } = await import('../ml/train.ts');
        const model = await this.#model(w, global);
        try {
          const { x, raw, width } = await this.#xy(w, global, w.validation.length ? w.validation : w.train);
          let pred = predict(model, x, width);
          if (w.task === 'regression') pred = pred.map((v) => v * global.label.std + global.label.mean);
          return evalStats(w.task, pred, raw);
        } finally {
          model.dispose();
        }
      });
      s.guard.check();
      delete s.worker;
      this.#settle(session, s);
      return afterData(() => sealFor(w.aggregator.keys.recipient, this.ctx.signingSeed, stats));
    });
  }

  /** Aggregator: merge the validation statistics and sign the result with the final model. */
  async finish(session: string, sealed: SealedMessage[]): Promise<Released> {
    const s = this.#live(session);
    const state = s.aggregator;
    if (!state)
      throw new ObscuraError('federation_invalid', `no federated session ${session} aggregated here`, 404);
    delete s.aggregator;
    this.#settle(session, s);
    return this.#within(
      s,
      async () => {
        const stats = (
          await Promise.all(
            sealed.map((m, i) => openFrom(m, this.ctx.ageIdentity, (state.peers[i] as Peer).keys.signingKey)),
          )
        ).map((s) => EvalStatsSchema.parse(s)) as EvalStats[];
        const doc = parsePipeline(state.job.pipeline);
        const body = doc.steps.find((s) => s.id === state.job.step)?.train as TrainStep;
        const { buildModel, setWeightSet, taskOf, trainOptionsOf, rescaleOutput } = await import(
          '../ml/train.ts'
        );
        const { encodedWidth } = await import('../ml/encode.ts');
        const { mlBackend } = await import('../ml/backend.ts');
        const { trainOutput } = await import('../pipelines/ml-run.ts');
        const task = stats[0]?.task ?? taskOf(body.model, 'float64');
        const model = buildModel(
          body.model,
          task,
          encodedWidth(state.encoding),
          trainOptionsOf(body.options),
        );
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
          enclave: resultEnclave(this.ctx),
          federation: {
            workers: state.peers.map((p) => ({ worker: p.workerId, signingKey: p.keys.signingKey })),
            rounds: state.rounds,
          },
          createdAt: new Date().toISOString(),
        };
        return {
          signed: signResult(result, this.ctx.signingSeed),
          ...(released.ciphertext ? { ciphertext: released.ciphertext } : {}),
          outputs,
        };
      },
      true,
    );
  }
}

/** A worker's encoding statistics of its training rows (aggregates only). */
function encodingStats(
  columns: DataColumn[],
  train: number[],
  maxCategories: number,
  step: string,
): EncodingStats {
  // A typed column marks a missing value NaN; an array holds null.
  const num = (v: unknown) =>
    typeof v === 'number'
      ? Number.isFinite(v)
        ? v
        : undefined
      : typeof v === 'boolean'
        ? v
          ? 1
          : 0
        : typeof v === 'bigint'
          ? Number(v)
          : undefined;
  const features = columns.slice(0, -1).map((c): EncodingStats['features'][number] => {
    if (c.type === 'bool') return { name: c.name, kind: 'bool' };
    if (c.type === 'string') {
      const counts: Record<string, number> = {};
      for (const i of train) {
        const v = c.values[i];
        if (typeof v === 'string') counts[v] = (counts[v] ?? 0) + 1;
      }
      if (Object.keys(counts).length > maxCategories) {
        throw new ObscuraError(
          'ml_vocabulary_too_large',
          `step ${step}: feature ${c.name} has more than ${maxCategories} distinct values`,
          422,
          { step, column: c.name },
        );
      }
      return { name: c.name, kind: 'onehot', counts };
    }
    let n = 0;
    let sum = 0;
    let sumsq = 0;
    for (const i of train) {
      const x = num(c.values[i]);
      if (x === undefined) continue;
      n++;
      sum += x;
      sumsq += x * x;
    }
    return { name: c.name, kind: 'numeric', n, sum, sumsq };
  });
  const label = columns[columns.length - 1] as DataColumn;
  let sum = 0;
  let sumsq = 0;
  for (const i of train) {
    const y = num(label.values[i]) ?? 0;
    sum += y;
    sumsq += y * y;
  }
  return { features, label: { n: train.length, sum, sumsq } };
}
