/**
 * The job queue's runner: takes queued jobs one at a time, has the worker's enclave run
 * them (a job that spends privacy budget or approval runs first has its spend entry's head
 * anchored, and only then does the enclave read data), anchors each result's hash on the
 * chain, and only then publishes it. A job either
 * ends succeeded with a stored, anchored result, failed with a code and a data-free
 * reason, or cancelled by its analyst; a job left running by a host that stopped is failed
 * at the next start.
 *
 * Crashes and outages (docs/operations.md): a released result is kept on disk before its
 * hash goes to the chain, and the job is `anchoring` until the chain holds it, retrying
 * through chain outages; a host that stops or dies meanwhile resumes the anchor at its next
 * start, before it runs anything else, as it places the ledger entries its workers committed
 * but never saw anchored (src/api/ledger.ts).
 *
 * The runner does not wait for a result's anchor before it runs the next job: results
 * released meanwhile are anchored together (result-anchors.ts), so the queue moves at the
 * enclave's pace rather than one block per job. A job that spends budget still waits for its
 * spend's anchor before its enclave reads data.
 *
 * The enclave enforces each job's limits and stops a cancelled job itself. The runner
 * backs it up: an enclave that has not answered a job by its time limit plus a grace
 * period is killed, and an enclave process that died (killed, or out of heap, during a job
 * or between jobs) is restarted from its sealed state before the next job, so one job cannot
 * stop everyone else's.
 */
import { type HttpStatus, isObscuraError, ObscuraError } from '../../common/errors.ts';
import { JOB_LIMITS } from '../../pipelines/limits.ts';
import { purposeHash } from '../../privacy/job-request.ts';
import { resultId, signedResultHash } from '../../contracts/result.ts';
import type { ReleasedResult } from '../../contracts/enclave-protocol.ts';
import type { JobRecord, ResultDocument } from '../store/index.ts';
import type { PendingResult } from '../../contracts/api-records.ts';
import { failpoint } from '../../common/failpoint.ts';
import type { HostContext } from './context.ts';
import { placeLedgerEntry, recoverLedger } from './ledger.ts';
import { ResultAnchors } from './result-anchors.ts';
import { JobPhaseClock } from './job-phases.ts';
import { runFederatedJob } from './federated-job.ts';

/** How long past its time limit a job may go before the host kills its enclave. */
const GRACE_MS = 30_000;

/** What DELETE /v1/jobs/{id} did: ended the job at once, or asked its enclave to stop it. */
export type CancelOutcome = 'cancelled' | 'cancelling';

/** Runs queued jobs until stopped. */
export class JobRunner {
  private wake: (() => void) | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  /** The job running now, the workers it runs on, and whether its analyst asked to cancel it. */
  private current: { job: JobRecord; workers: string[]; cancel: AbortController } | undefined;
  /** Released results on their way to the chain, batched. */
  readonly #anchors: ResultAnchors;
  /** Each released result's anchor-and-store, until it settles (stop waits for them). */
  readonly #publishing = new Set<Promise<void>>();

  constructor(private readonly ctx: HostContext) {
    this.#anchors = new ResultAnchors(ctx);
  }

  /** Start the loop (failing jobs a previous host left running). */
  start(): void {
    const interrupted = this.ctx.metadata.failInterruptedJobs();
    if (interrupted > 0)
      this.ctx.log('warn', `${interrupted} job(s) interrupted by the last stop were marked failed`);
    this.loop = this.run();
  }

  /** Wake the loop: a job was queued. */
  notify(): void {
    this.wake?.();
  }

  /**
   * Cancel a job that has not ended: a queued (or awaiting) job ends cancelled at once; a
   * running one is stopped by its enclave and ends cancelled when the enclave lets go (a
   * result that was already made is published). Throws 'job_finished' (409) for a job that
   * has ended.
   */
  async cancel(id: string): Promise<CancelOutcome> {
    const { metadata, workers, log } = this.ctx;
    const job = metadata.job(id);
    if (job.status === 'queued' || job.status === 'awaiting_approval') {
      if (metadata.cancelJob(id)) {
        log('info', `job ${id} cancelled before it ran`);
        return 'cancelled';
      }
    }
    const current = this.current;
    if (current && current.job.id === id) {
      current.cancel.abort();
      metadata.updateJob(id, { message: 'cancelling' });
      // Every worker of a federated job stops its part mid-round. An enclave may have let go
      // of the job already; the runner settles it either way.
      await Promise.all(
        current.workers.map((worker) =>
          workers
            .get(worker)
            .request('cancel_job', { job: id })
            .catch((e: unknown) =>
              log(
                'warn',
                `job ${id}: the enclave of worker ${worker} did not take the cancel: ${e instanceof Error ? e.message : String(e)}`,
              ),
            ),
        ),
      );
      return 'cancelling';
    }
    if (metadata.pendingResults().some((p) => p.jobId === id)) {
      throw new ObscuraError(
        'job_finished',
        `job ${id} has released its result, which is being anchored on the chain; it can no longer be cancelled`,
        409,
      );
    }
    const now = metadata.job(id);
    throw new ObscuraError(
      'job_finished',
      `job ${id} has ended (${now.status}); only a queued or running job can be cancelled`,
      409,
    );
  }

  /** Stop after the current job, and the anchors of released results (the host's shutdown signal ends their waits). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await Promise.all([...this.#publishing]);
  }

  private async run(): Promise<void> {
    await this.#recover();
    this.ctx.chainHealth.recovering = false;
    while (!this.stopped) {
      const job = this.ctx.metadata.nextQueuedJob();
      if (!job) {
        // A worker whose enclave died between jobs comes back without waiting for one.
        await this.#restartStopped();
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, 1000);
        });
        continue;
      }
      await this.runOne(job);
    }
  }

  private async runOne(job: JobRecord): Promise<void> {
    const { metadata, workers, blobs } = this.ctx;
    // Cancelled between the queue read and now: nothing to run.
    if (!metadata.claimJob(job.id)) return;
    const cancel = new AbortController();
    const current = { job, workers: [job.worker], cancel };
    this.current = current;
    const endJob = this.ctx.metrics.jobDuration.startTimer();
    const clock = new JobPhaseClock(this.ctx.metrics.jobPhase, job.createdAt);
    try {
      // An enclave that died since the last job is back (from its sealed state) before this one.
      await this.#restartStopped(job);
      const request = job.request;
      if (!request)
        throw new ObscuraError(
          'job_request_missing',
          'the job carries no signed job request (it predates them); submit it again',
          422,
        );
      const purpose = purposeHash(request.request.purpose);
      const pipeline = metadata.pipeline(job.pipeline.hash);
      const localInput = (name: string, datasetId: string) => {
        const d = metadata.dataset(datasetId);
        const approval = this.ctx.privacy.approvalFor(
          datasetId,
          job.pipeline.hash,
          request.request.analyst,
          purpose,
        );
        const policyUpdate = this.ctx.privacy.latestPolicyUpdate(datasetId);
        return {
          name,
          datasetId,
          blobPath: blobs.pathOf(d.ciphertext.sha256),
          manifest: d.manifest,
          ...(approval ? { approval } : {}),
          ...(policyUpdate ? { policyUpdate } : {}),
        };
      };
      const onProgress = (fraction: number, message: string) => {
        clock.progress(fraction);
        metadata.updateJob(job.id, { progress: Math.min(0.9, fraction * 0.9), message });
        // Past the opening of the inputs: the enclave is reading data.
        if (fraction >= 0.5) failpoint('job.running');
      };
      const ids = Object.values(job.inputs).flat();
      if (Object.values(job.inputs).some(Array.isArray) || ids.some((id) => !metadata.hasDataset(id))) {
        // Federated: each dataset stays on its worker (of this node or another); this node coordinates.
        const released = await runFederatedJob(this.ctx, {
          job,
          request,
          pipeline: pipeline.document as Parameters<typeof runFederatedJob>[1]['pipeline'],
          localInput,
          onProgress,
          onWorkers: (w) => {
            current.workers = [...new Set([job.worker, ...w])];
          },
          signal: cancel.signal,
          graceMs: GRACE_MS,
          onLedger: async (worker, entry) => {
            await placeLedgerEntry(this.ctx, worker, entry);
          },
        });
        clock.released();
        this.#publish(job, released, undefined, clock);
        return;
      }
      const inputs = Object.entries(job.inputs).map(([name, id]) => localInput(name, id as string));
      const enclave = workers.get(job.worker);
      const timeoutMs = enclave.info.limits?.timeoutMs ?? JOB_LIMITS.timeoutMs.default;
      const outcome = await enclave.request(
        'run_job',
        { job: { id: job.id, request, pipeline: JSON.stringify(pipeline.document), inputs } },
        onProgress,
        { deadlineMs: timeoutMs + GRACE_MS },
      );
      let released = 'signed' in outcome ? outcome : undefined;
      let spend: ResultDocument['spend'];
      if ('ledger' in outcome) {
        // The enclave committed the spend and has read nothing: it runs the job once the spend is on chain.
        failpoint('spend.committed');
        clock.lap('check');
        metadata.setAnchoring(job.id, true, 'anchoring the privacy budget spend on the chain');
        const placed = await placeLedgerEntry(this.ctx, job.worker, outcome.ledger, {
          onProgress,
          deadlineMs: timeoutMs + GRACE_MS,
          onWait: (message) => metadata.setAnchoring(job.id, true, message),
          onPlaced: () => {
            clock.lap('spend');
            metadata.setAnchoring(job.id, false, 'the spend is on chain: running');
          },
        });
        // The job spent its budget (on chain) and failed: fail it with the enclave's code (data-free once it read data).
        if (placed.failed)
          throw new ObscuraError(
            placed.failed.code,
            placed.failed.message,
            placed.failed.status as HttpStatus,
          );
        released = placed.released;
        if (!released)
          throw new Error('the enclave confirmed the spend but ran no job (it was restarted in between)');
        spend = { entry: outcome.ledger, placement: placed.placement };
      }
      clock.released();
      this.#publish(job, released as ReleasedResult, spend, clock);
    } catch (e) {
      // The worker is back before the job reads as ended, so whoever waits on it can go on.
      await this.#restartStopped(job);
      this.#fail(job, e, cancel.signal.aborted);
    } finally {
      this.current = undefined;
      endJob();
    }
  }

  /**
   * Restart every enclave that died or was killed (during `job`, or between jobs), then place
   * the ledger entries it committed but never saw anchored.
   */
  async #restartStopped(job?: JobRecord): Promise<void> {
    const { workers, log } = this.ctx;
    for (const { id } of workers.list().filter((w) => w.status === 'stopped')) {
      try {
        const next = await workers.restart(id);
        log(
          'warn',
          `worker ${id}: enclave restarted from its sealed state ${job ? `after job ${job.id}` : 'after it stopped between jobs'} (measurement ${next.info.measurement})`,
        );
        await recoverLedger(this.ctx, id);
      } catch (e) {
        log(
          'error',
          `worker ${id}: enclave could not be restarted: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
  }

  /**
   * Keep a released result on disk, then (without waiting) anchor its hash, store it and mark
   * the job succeeded; a result whose anchor fails for good fails its job.
   */
  #publish(
    job: JobRecord,
    released: ReleasedResult,
    spend?: ResultDocument['spend'],
    clock?: JobPhaseClock,
  ): void {
    const { signed, attestation, ciphertext } = released;
    const pending: PendingResult = {
      obscura: 'result-document/1',
      id: resultId(signed),
      hash: signedResultHash(signed),
      signed,
      attestation,
      ...(ciphertext ? { ciphertext } : {}),
      ...(spend ? { spend } : {}),
    };
    this.ctx.metadata.beginResultAnchor(job.id, pending);
    void this.#settle(job.id, pending, clock);
  }

  /** Anchor and store a kept result, failing its job if that fails for good; tracked until it settles. */
  #settle(jobId: string, pending: PendingResult, clock?: JobPhaseClock): Promise<void> {
    const done = this.#anchorResult(jobId, pending, clock)
      .catch((e: unknown) => this.#fail(this.ctx.metadata.job(jobId), e, false))
      .finally(() => this.#publishing.delete(done));
    this.#publishing.add(done);
    return done;
  }

  /**
   * Anchor a kept result's hash, waiting out chain outages, then store it and mark its job
   * succeeded. A host that stops meanwhile leaves the job anchoring: the next start resumes it.
   */
  async #anchorResult(jobId: string, pending: PendingResult, clock?: JobPhaseClock): Promise<void> {
    const { metadata, log } = this.ctx;
    let anchor: ResultDocument['anchor'];
    try {
      anchor = await this.#anchors.anchor(jobId, pending.hash);
    } catch (e) {
      if (!isObscuraError(e, 'host_stopping')) throw e;
      log('info', `job ${jobId}: its result waits for the chain; the anchor resumes at the next start`);
      return;
    }
    failpoint('result.anchored');
    clock?.lap('anchor');
    const { ciphertext, spend, ...head } = pending;
    const doc: ResultDocument = {
      ...head,
      anchor,
      ...(ciphertext ? { ciphertext } : {}),
      ...(spend ? { spend } : {}),
    };
    metadata.completeJob(jobId, doc);
    clock?.lap('store');
    this.ctx.metrics.jobs.inc({ outcome: 'succeeded' });
    log('info', `job ${jobId} succeeded: result ${doc.id} anchored in block #${anchor.blockNumber}`);
  }

  /**
   * After a start: place the ledger entries each worker committed but never saw anchored,
   * then anchor the results released before the last stop, before any new job runs.
   */
  async #recover(): Promise<void> {
    const { metadata, workers, log } = this.ctx;
    for (const { id } of workers.list()) {
      try {
        await recoverLedger(this.ctx, id);
      } catch (e) {
        if (isObscuraError(e, 'host_stopping')) return;
        log(
          'error',
          `worker ${id}: its ledger could not be recovered: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
    // Anchored together, as when they were released; all settle before the first new job runs.
    const resumed = metadata.pendingResults().map(({ jobId, pending }) => {
      log('warn', `job ${jobId}: resuming the anchor of its result, released before the last stop`);
      return this.#settle(jobId, pending);
    });
    await Promise.all(resumed);
  }

  /** Mark a job failed with the error's code and a data-free message (cancelled, when its analyst stopped it). */
  #fail(job: JobRecord, e: unknown, cancelRequested: boolean): void {
    const { metadata, log } = this.ctx;
    if (isObscuraError(e, 'job_cancelled') && cancelRequested) {
      metadata.cancelJob(job.id);
      this.ctx.metrics.jobs.inc({ outcome: 'job_cancelled' });
      log('info', `job ${job.id} cancelled while it ran`);
      return;
    }
    const code = isObscuraError(e) ? e.code : 'job_internal_error';
    const message = isObscuraError(e) ? e.message : 'the job failed on the host';
    // Host-side errors carry no plaintext (the host never has any), so the cause is logged.
    if (!isObscuraError(e)) log('error', `job ${job.id}: ${e instanceof Error ? e.message : String(e)}`);
    metadata.failJob(job.id, code, message);
    this.ctx.metrics.jobs.inc({ outcome: code });
    log('warn', `job ${job.id} failed: ${code}: ${message}`);
  }
}
