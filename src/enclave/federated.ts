/**
 * Federated training inside the enclaves (src/federation holds the pieces that merge).
 * Every worker checks the job against its own datasets' policies exactly as for a local
 * job, runs the pipeline up to the train step and keeps those rows in its own memory; from
 * then on only encrypted, signed messages to and from the aggregator — one of the workers,
 * whose attestation every worker verified — leave it: encoding statistics (with the
 * worker's signed statement of its share: federated-members.ts), model weights and
 * validation statistics, never rows. The aggregator (federated-aggregator.ts) verifies every
 * worker's attestation and statement, merges the statistics into one encoding, averages the
 * weights each round (weighted by rows), and finally signs the result like any other, with
 * every worker's part for an auditor. This file holds the sessions and the worker's side.
 * Every step after a
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
import type { SignedLedgerEntry } from '../contracts/ledger.ts';
import type { JobSpec } from '../contracts/enclave-protocol.ts';
import { openFrom, type Peer, type SealedMessage, sealFor } from '../federation/channel.ts';
import { evalStats } from '../federation/merge.ts';
import type { DataColumn } from '../ml/encode.ts';
import type { PipelineOutput } from '../pipelines/index.ts';
import { JobGuard, jobCancelled } from '../pipelines/limits.ts';
import { jobRequestHash } from '../privacy/job-request.ts';
import { afterData, dataCondition } from './data-condition.ts';
import {
  type AggregatedJob,
  type AggregatorSession,
  averageUpdates,
  broadcast,
  type Global,
  openPartitions,
  startAggregation,
  trainingResult,
} from './federated-aggregator.ts';
import { verifyPeers } from './federated-members.ts';
import {
  federatedTrainStep,
  openPartition,
  releaseOf,
  type WorkerSession,
  workerModel,
  workerRows,
} from './federated-worker.ts';
import { checkJob, consume, type JobContext } from './job-check.ts';
import { openAndRun, type Released, resultInput } from './jobs.ts';

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
    await verifyPeers(this.ctx, [aggregator]);
    const checked = checkJob(job, this.ctx, { partial: true });
    const ledger = await consume(job.id, checked, [], this.ctx, () => {});
    const body = federatedTrainStep(checked.doc, step);
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
    return afterData(async () => {
      const { worker, opening } = await openPartition(this.ctx, {
        job,
        step,
        aggregator,
        body,
        captured: rows,
        inputs: job.inputs.map((input, i) => resultInput(input, opened[i] as (typeof opened)[number])),
        request: jobRequestHash(checked.request),
        pipeline: checked.hash,
        release: releaseOf(job, checked),
      });
      // Kept only if the session still stands (a cancel or close may have come in meanwhile).
      s.guard.check();
      s.worker = { ...worker, ...(ledger ? { pending: ledger.entry.seq } : {}) };
      const sealed = await sealFor(aggregator.keys.recipient, this.ctx.signingSeed, opening);
      return { stats: sealed, ...(ledger ? { ledger } : {}) };
    });
  }

  /** Aggregator: verify every worker, merge their statistics into one encoding, start the model, send it to each. */
  async init(
    session: string,
    job: AggregatedJob,
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
    job: AggregatedJob,
    peers: Peer[],
    sealed: SealedMessage[],
  ): Promise<SealedMessage[]> {
    await verifyPeers(this.ctx, peers);
    const parts = await openPartitions(this.ctx, job, peers, sealed);
    return afterData(async () => {
      const state = await startAggregation(this.ctx, job, peers, sealed, parts);
      s.guard.check();
      s.aggregator = state;
      return broadcast(this.ctx, state);
    });
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

  /** Worker: train on its own rows from the global weights for the step's epochs, send the update. */
  async round(session: string, sealed: SealedMessage): Promise<SealedMessage> {
    const s = this.#live(session);
    return this.#within(s, async () => {
      const { w, global } = await this.#global(s, sealed);
      return afterData(async () => {
        const { fitMore, getWeightSet, trainOptionsOf } = await import('../ml/train.ts');
        const model = await workerModel(w, global);
        try {
          const { x, y, width } = await workerRows(w, global, w.train);
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
        await averageUpdates(this.ctx, state, sealed);
        return broadcast(this.ctx, state);
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
        const model = await workerModel(w, global);
        try {
          const { x, raw, width } = await workerRows(w, global, w.validation.length ? w.validation : w.train);
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

  /** Aggregator: merge the validation statistics and sign the result with the final model and every worker's part. */
  async finish(session: string, sealed: SealedMessage[]): Promise<Released> {
    const s = this.#live(session);
    const state = s.aggregator;
    if (!state)
      throw new ObscuraError('federation_invalid', `no federated session ${session} aggregated here`, 404);
    delete s.aggregator;
    this.#settle(session, s);
    return this.#within(s, () => trainingResult(this.ctx, state, sealed), true);
  }
}
