/**
 * What every enclave message handler shares, in one place: the worker's identity and its
 * sealed state, the privacy ledger, the jobs running and waiting, the federated sessions,
 * the evidence provider, and the channel back to the host. start.ts makes one at start;
 * each handler (handlers/) reads and changes the worker only through it.
 */
import type { Evidence } from '../attestation/evidence.ts';
import type {
  EvidenceProvider,
  HardwareIdentity,
  MeasurementSource,
  SealingRoot,
} from '../attestation/providers/index.ts';
import type { ChainClient } from '../chain/client.ts';
import { ed25519FromSeed } from '../common/ed25519.ts';
import { isObscuraError } from '../common/errors.ts';
import { csvErrorWithoutRow } from '../data/csv-scan.ts';
import type {
  EnclaveFailure,
  EnclaveInfo,
  EnclaveMessage,
  ReleasedResult,
} from '../contracts/enclave-protocol.ts';
import type { Outputs } from '../contracts/result-outputs.ts';
import { resultBodyHash, type SignedResult } from '../contracts/result.ts';
import { identityToRecipient } from '../crypto/age/x25519.ts';
import { JobGuard, type JobLimits } from '../pipelines/limits.ts';
import { FederatedSessions } from './federated.ts';
import { FederatedAggregates } from './federated-aggregate.ts';
import type { JobContext } from './job-check.ts';
import type { StartedJob } from './jobs.ts';
import { LedgerService } from './ledger-service.ts';
import { type EnclaveState, sealedStatePath, writeSealedState } from './state.ts';

/** What start.ts found at start: the TEE, the measurement, the unsealed state and the limits. */
export interface EnclaveSetup {
  workerId: string;
  provider: EvidenceProvider;
  hardware: HardwareIdentity | undefined;
  measurement: string;
  measurementSource: MeasurementSource;
  sealing: SealingRoot;
  stateDir: string;
  state: EnclaveState;
  /** Whether the identity was unsealed (false: newly made). */
  restored: boolean;
  limits: JobLimits;
  heapBytes: number;
  /** The chain the enclave checks ledger entries and hand-overs against, if the host gave one. */
  chainEndpoint: string | undefined;
}

/** A job whose spend is committed but not yet confirmed on chain: it has read nothing. */
interface AwaitingJob {
  job: string;
  started: StartedJob;
  cancelled: boolean;
}

/** The key material of an identity, in the shape jobs use. */
function identityOf(
  state: EnclaveState,
): Pick<JobContext, 'ageIdentity' | 'recipient' | 'signingKey' | 'signingSeed'> {
  const signing = ed25519FromSeed(Buffer.from(state.signingSeed, 'hex'));
  return {
    ageIdentity: state.ageIdentity,
    recipient: identityToRecipient(state.ageIdentity),
    signingKey: signing.publicKey,
    signingSeed: signing.seed,
  };
}

/** The enclave worker's shared state; the identity in it can change once, by a hand-over. */
export class EnclaveContext {
  state: EnclaveState;
  restored: boolean;
  readonly ctx: JobContext;
  keys: { recipient: string; signingKey: string };
  readonly ledger: LedgerService;
  readonly federated: FederatedSessions;
  /** Federated aggregates: this enclave's pending shares as a member, and its merges as coordinator. */
  readonly aggregates: FederatedAggregates;
  /** Guards of the jobs running now, by job id (cancel_job trips them). */
  readonly running = new Map<string, JobGuard>();
  /** Jobs waiting for confirm_ledger to show their spend's entry on chain, by entry sequence number. */
  readonly awaiting = new Map<number, AwaitingJob>();

  constructor(
    readonly setup: EnclaveSetup,
    readonly send: (message: EnclaveMessage) => void,
  ) {
    this.state = setup.state;
    this.restored = setup.restored;
    const endpoint = setup.chainEndpoint;
    this.ledger = new LedgerService({
      state: () => this.state.ledger,
      persist: (next) => this.persist({ ...this.state, ledger: next }),
      workerKey: () => this.ctx.signingKey,
      signingSeed: () => this.ctx.signingSeed,
      ...(endpoint ? { connect: () => this.connectChain(endpoint) } : {}),
    });
    this.ctx = {
      workerId: setup.workerId,
      tee: setup.provider.tee,
      measurement: setup.measurement,
      ledger: this.ledger,
      limits: setup.limits,
      ...identityOf(this.state),
    };
    this.keys = { recipient: this.ctx.recipient, signingKey: this.ctx.signingKey };
    this.federated = new FederatedSessions(this.ctx);
    this.aggregates = new FederatedAggregates(this.ctx);
  }

  /** A log line for the host (never data: callers write data-free messages). */
  log(level: 'info' | 'warn' | 'error', message: string): void {
    this.send({ type: 'log', level, message });
  }

  /** Seal `next` to disk and make it the worker's state (its identity included). */
  persist(next: EnclaveState): void {
    const { stateDir, measurement, sealing } = this.setup;
    writeSealedState(sealedStatePath(stateDir, measurement), next, sealing.secret, measurement);
    this.state = next;
    Object.assign(this.ctx, identityOf(next));
    this.keys = { recipient: this.ctx.recipient, signingKey: this.ctx.signingKey };
  }

  /** Keep owners' accepted measurements with the identity, so a hand-over can honour them. */
  remember(opened: { manifestHash: string; manifest: { manifest: { measurements: string[] } } }[]): void {
    const known = new Set(this.state.acceptedManifests.map((m) => m.hash));
    const fresh = opened.filter((o) => !known.has(o.manifestHash));
    if (fresh.length === 0) return;
    this.persist({
      ...this.state,
      acceptedManifests: [
        ...this.state.acceptedManifests,
        ...fresh.map((o) => ({ hash: o.manifestHash, measurements: o.manifest.manifest.measurements })),
      ],
    });
  }

  /** What the enclave says about itself. */
  hello(): EnclaveInfo {
    const { provider, measurement, measurementSource, hardware, sealing, limits, heapBytes } = this.setup;
    return {
      workerId: this.ctx.workerId,
      tee: provider.tee,
      provider: provider.kind,
      measurement,
      measurementSource,
      ...(hardware ? { hardware } : {}),
      sealingRoot: sealing.source,
      keys: this.keys,
      restored: this.restored,
      limits: { ...limits, heapBytes },
      federatedSessions: this.federated.size,
    };
  }

  /** Evidence bound to `nonce` (a host's challenge, or a result's body hash). */
  evidence(nonce: string): Promise<Evidence> {
    return this.setup.provider.evidence({
      workerId: this.ctx.workerId,
      measurement: this.setup.measurement,
      keys: this.keys,
      nonce,
    });
  }

  /** A signed result with its attestation, as it leaves the enclave: never the plaintext of sealed outputs. */
  async release(signed: SignedResult, ciphertext: Buffer | undefined): Promise<ReleasedResult> {
    const attestation = await this.evidence(resultBodyHash(signed.result));
    return {
      signed,
      attestation,
      ...(ciphertext ? { ciphertext: ciphertext.toString('base64') } : {}),
    };
  }

  /** Run a started job under a fresh guard (its wall time starts now) and attest its result. */
  async execute(job: string, started: StartedJob, request: number): Promise<ReleasedResult> {
    const guard = new JobGuard(this.setup.limits);
    this.running.set(job, guard);
    const { signed, ciphertext, outputs } = await started
      .run(
        (fraction, message) => this.send({ type: 'progress', id: request, fraction, message }),
        (opened) => this.remember(opened),
        guard,
      )
      .finally(() => {
        guard.dispose();
        this.running.delete(job);
      });
    const released = await this.release(signed, ciphertext);
    this.#logTrained(job, outputs);
    return released;
  }

  /** Whether a job of this id runs or waits here now. */
  isBusy(job: string): boolean {
    return this.running.has(job) || [...this.awaiting.values()].some((w) => w.job === job);
  }

  /** What the host may see of a failure: an ObscuraError's code and message (written data-free), else a generic one. */
  failureOf(e: unknown, type: string): EnclaveFailure {
    if (isObscuraError(e)) {
      // A malformed value's row stays inside: the host relays the refusal (csv-scan.ts).
      const told = csvErrorWithoutRow(e);
      return { code: told.code, message: told.message, status: told.status };
    }
    this.log('error', `internal error while handling ${type}: ${e instanceof Error ? e.name : 'unknown'}`);
    return {
      code: 'enclave_internal_error',
      message: `the enclave failed while handling ${type}`,
      status: 500,
    };
  }

  /** Opens the chain at `endpoint`. Loaded on demand: the client is heavy and only ledger entries and hand-overs need it. */
  async connectChain(endpoint: string): Promise<ChainClient> {
    const { ChainClient } = await import('../chain/client.ts');
    return ChainClient.connect(endpoint);
  }

  #logTrained(job: string, outputs: Outputs): void {
    for (const [step, out] of Object.entries(outputs)) {
      if (!out.model) continue;
      const how =
        out.model.backend === 'exact'
          ? 'by an exact solve'
          : `on the TensorFlow.js ${out.model.backend} backend`;
      this.log('info', `job ${job}: step ${step} trained a ${out.model.kind} ${how}`);
    }
  }
}
