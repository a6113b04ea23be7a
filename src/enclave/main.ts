/**
 * The enclave process: started by the host with an IPC channel, it makes or unseals its
 * identity, then answers schema-validated requests. Nothing it sends carries plaintext:
 * failures other than ObscuraError (whose messages are written to be data-free) are
 * reported as a generic internal error, since a library's message may quote a value.
 * Its evidence comes from the provider its environment names (OBSCURA_TEE and friends, see
 * attestation/providers/config.ts); a quote-based provider is asked for a quote at start,
 * so a worker without its TEE device fails to start, saying which device is missing. Its
 * sealed state is keyed from the provider's sealing root (the TEE's own sealing key or KMS;
 * only the simulated TEE keeps one in the data directory), held in this process's memory.
 * Its per-job limits come from its environment too, clamped to the ranges it accepts
 * (pipelines/limits.ts); every job runs under a guard that enforces them, and that a
 * cancel_job request trips.
 */
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { z } from 'zod';
import {
  createProvider,
  describeSealingRoot,
  enclaveMeasurement,
  providerConfig,
  TeeChoiceSchema,
  TeeSettingsSchema,
} from '../attestation/providers/index.ts';
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { ed25519FromSeed } from '../common/ed25519.ts';
import { assertNotDevelopmentAccount } from '../crypto/dev-keys.ts';
import { SS58_PREFIX } from '../crypto/keys.ts';
import { isObscuraError, ObscuraError } from '../common/errors.ts';
import { identityToRecipient } from '../crypto/age/x25519.ts';
import { cryptoReady } from '../crypto/keys.ts';
import { openSealedInput } from './datasets.ts';
import { type JobContext, type StartedJob, startJob } from './jobs.ts';
import { computeMeasurement } from '../contracts/measurement.ts';
import {
  type EnclaveFailure,
  type EnclaveInfo,
  type EnclaveMessage,
  type HostRequest,
  HostRequestSchema,
  type ReleasedResult,
} from '../contracts/enclave-protocol.ts';
import type { Outputs } from '../contracts/result-outputs.ts';
import { resultBodyHash, type SignedResult } from '../contracts/result.ts';
import type { Evidence } from '../attestation/evidence.ts';
import { assertManifestSignature, manifestHash } from '../crypto/manifest.ts';
import { assertPolicyUpdate, statementHash, withPolicyUpdate } from '../privacy/statements.ts';
import { LedgerService } from './ledger-service.ts';
import { FederatedSessions } from './federated.ts';
import { exportIdentity, importIdentity } from './handover.ts';
import { type EnclaveState, loadOrCreateState, sealedStatePath, writeSealedState } from './state.ts';
import { effectiveLimits, JobGuard, jobCancelled } from '../pipelines/limits.ts';

const count = z.coerce.number().int().positive().optional();

const EnvSchema = z.object({
  OBSCURA_DATA_DIR: z.string().min(1),
  OBSCURA_WORKER_ID: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  OBSCURA_TEE: TeeChoiceSchema.default('simulated'),
  OBSCURA_TEE_ROOT: z.string().min(1).optional(),
  OBSCURA_DSTACK_ENDPOINT: z.string().min(1).optional(),
  /** The dstack SDK's own variable for a simulator endpoint; OBSCURA_DSTACK_ENDPOINT wins. */
  DSTACK_SIMULATOR_ENDPOINT: z.string().min(1).optional(),
  /**
   * The accounts (SS58) that may authorise upgrades, comma-separated, as the host names them.
   * Taken only when the identity is made; after that the sealed list holds (a later host
   * cannot add operators).
   */
  OBSCURA_OPERATORS: z.string().optional(),
  /** Chain the enclave checks hand-over authorisations against (its RPC answers are trusted; see handover.ts). */
  OBSCURA_CHAIN_ENDPOINT: z
    .string()
    .regex(/^wss?:\/\//)
    .optional(),
  /** Per-job limits the host asks for (clamped to the enclave's ranges; defaults where absent). */
  OBSCURA_JOB_TIMEOUT_MS: count,
  OBSCURA_JOB_MAX_ROWS: count,
  OBSCURA_JOB_MEMORY_BYTES: count,
});

/** The operators the host names, validated: SS58 addresses (as prefix 42), none of them a development account. */
async function namedOperators(list: string | undefined): Promise<string[]> {
  const out: string[] = [];
  for (const raw of (list ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean)) {
    let address: string;
    try {
      address = encodeAddress(decodeAddress(raw), SS58_PREFIX);
    } catch {
      throw new ObscuraError('operator_invalid', `operator ${raw} is not an SS58 address`, 400);
    }
    await assertNotDevelopmentAccount(address, 'the host');
    if (!out.includes(address)) out.push(address);
  }
  return out;
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

function send(message: EnclaveMessage): void {
  process.send?.(message);
}

function log(level: 'info' | 'warn' | 'error', message: string): void {
  send({ type: 'log', level, message });
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('the enclave must be started by the host with an IPC channel');
  const env = EnvSchema.parse(process.env);
  await cryptoReady();
  const endpoint = env.OBSCURA_DSTACK_ENDPOINT ?? env.DSTACK_SIMULATOR_ENDPOINT;
  const settings = TeeSettingsSchema.safeParse({
    tee: env.OBSCURA_TEE,
    ...(env.OBSCURA_TEE_ROOT ? { root: env.OBSCURA_TEE_ROOT } : {}),
    ...(endpoint ? { endpoint } : {}),
  });
  if (!settings.success) {
    const issue = settings.error.issues[0];
    throw new ObscuraError(
      'tee_config_invalid',
      `TEE setting ${String(issue?.path[0])} is invalid: ${issue?.message}`,
      400,
    );
  }
  const provider = createProvider(providerConfig(settings.data, env.OBSCURA_DATA_DIR));
  const hardware = await provider.identify();
  const { measurement, source: measurementSource } = enclaveMeasurement(hardware, computeMeasurement());
  if (provider.tee !== 'simulated') {
    log(
      'info',
      `TEE ${provider.tee} via ${provider.kind}; measurement ${measurement} (${measurementSource === 'hardware' ? 'MRENCLAVE' : 'code measurement'})`,
    );
  }
  const sealing = await provider.sealingRoot();
  log(
    sealing.source === 'simulated-file' ? 'warn' : 'info',
    `sealing root: ${sealing.source} (${describeSealingRoot(sealing.source)})`,
  );
  const stateDir = join(env.OBSCURA_DATA_DIR, 'workers', env.OBSCURA_WORKER_ID);
  const named = await namedOperators(env.OBSCURA_OPERATORS);
  const loaded = loadOrCreateState({
    stateDir,
    workerId: env.OBSCURA_WORKER_ID,
    platformSecret: sealing.secret,
    measurement,
    operators: named,
  });
  let state = loaded.state;
  let restored = loaded.restored;
  // The identity can change once, by a hand-over; everything that uses it reads these.
  const chainEndpoint = env.OBSCURA_CHAIN_ENDPOINT;
  const ledger = new LedgerService({
    state: () => state.ledger,
    persist: (next) => persist({ ...state, ledger: next }),
    workerKey: () => ctx.signingKey,
    signingSeed: () => ctx.signingSeed,
    ...(chainEndpoint
      ? {
          connect: async () => {
            // Loaded on demand: the chain client is heavy and only ledger entries and hand-overs need it.
            const { ChainClient } = await import('../chain/client.ts');
            return ChainClient.connect(chainEndpoint);
          },
        }
      : {}),
  });
  const limits = effectiveLimits({
    ...(env.OBSCURA_JOB_TIMEOUT_MS ? { timeoutMs: env.OBSCURA_JOB_TIMEOUT_MS } : {}),
    ...(env.OBSCURA_JOB_MAX_ROWS ? { maxRows: env.OBSCURA_JOB_MAX_ROWS } : {}),
    ...(env.OBSCURA_JOB_MEMORY_BYTES ? { memoryBytes: env.OBSCURA_JOB_MEMORY_BYTES } : {}),
  });
  const heapBytes = getHeapStatistics().heap_size_limit;
  // The heap is sized when the process starts, by the host; the enclave can only say so.
  if (heapBytes > 2 * limits.memoryBytes + 256 * 1024 ** 2)
    log('warn', `the enclave's heap is not capped near its memory limit per job (${heapBytes} bytes)`);
  const ctx: JobContext = {
    workerId: env.OBSCURA_WORKER_ID,
    tee: provider.tee,
    measurement,
    ledger,
    limits,
    ...identityOf(state),
  };
  /** Guards of the jobs running now, by job id (cancel_job trips them). */
  const running = new Map<string, JobGuard>();
  let keys = { recipient: ctx.recipient, signingKey: ctx.signingKey };
  const federated = new FederatedSessions(ctx);
  /**
   * Jobs whose spend is committed but not yet confirmed on chain, by entry sequence number:
   * they have read nothing, and run when confirm_ledger shows the entry's head on chain.
   */
  const awaiting = new Map<number, { job: string; started: StartedJob; cancelled: boolean }>();
  const persist = (next: EnclaveState) => {
    writeSealedState(sealedStatePath(stateDir, measurement), next, sealing.secret, measurement);
    state = next;
    Object.assign(ctx, identityOf(next));
    keys = { recipient: ctx.recipient, signingKey: ctx.signingKey };
  };
  // Owners' accepted measurements travel with the identity, so a hand-over can honour them.
  const remember = (
    opened: { manifestHash: string; manifest: { manifest: { measurements: string[] } } }[],
  ) => {
    const known = new Set(state.acceptedManifests.map((m) => m.hash));
    const fresh = opened.filter((o) => !known.has(o.manifestHash));
    if (fresh.length === 0) return;
    persist({
      ...state,
      acceptedManifests: [
        ...state.acceptedManifests,
        ...fresh.map((o) => ({ hash: o.manifestHash, measurements: o.manifest.manifest.measurements })),
      ],
    });
  };
  if (!restored) {
    log(
      'info',
      `no identity sealed to measurement ${measurement}: made a new one; datasets sealed to an earlier identity stay unreadable (no access) until an authorised hand-over`,
    );
  }
  if (state.operators === undefined) {
    // State sealed before operators were kept: the host's list is all there is to go by, once.
    persist({ ...state, operators: named });
    log(
      'warn',
      `this identity kept no operators yet: it now honours the ${named.length} the host names, and no others from now on`,
    );
  } else {
    const sealedOps = state.operators;
    const added = named.filter((a) => !sealedOps.includes(a));
    if (added.length > 0) {
      log(
        'warn',
        `the host names ${added.length} operator(s) this identity was not given at first start (${added.join(', ')}); ignored: upgrades need the signature of one of its ${sealedOps.length} sealed operator(s)`,
      );
    }
  }

  const hello = (): EnclaveInfo => ({
    workerId: ctx.workerId,
    tee: provider.tee,
    provider: provider.kind,
    measurement,
    measurementSource,
    ...(hardware ? { hardware } : {}),
    sealingRoot: sealing.source,
    keys,
    restored,
    limits: { ...limits, heapBytes },
    federatedSessions: federated.size,
  });

  const logTrained = (job: string, outputs: Outputs) => {
    for (const [step, out] of Object.entries(outputs)) {
      if (!out.model) continue;
      const how =
        out.model.backend === 'exact'
          ? 'by an exact solve'
          : `on the TensorFlow.js ${out.model.backend} backend`;
      log('info', `job ${job}: step ${step} trained a ${out.model.kind} ${how}`);
    }
  };
  // What leaves the enclave of a released result: never the plaintext of sealed outputs.
  const release = (
    signed: SignedResult,
    attestation: Evidence,
    ciphertext: Buffer | undefined,
  ): ReleasedResult => ({
    signed,
    attestation,
    ...(ciphertext ? { ciphertext: ciphertext.toString('base64') } : {}),
  });

  /** Run a started job under a fresh guard (its wall time starts now) and attest its result. */
  const execute = async (job: string, started: StartedJob, request: number): Promise<ReleasedResult> => {
    const guard = new JobGuard(limits);
    running.set(job, guard);
    const { signed, ciphertext, outputs } = await started
      .run((fraction, message) => send({ type: 'progress', id: request, fraction, message }), remember, guard)
      .finally(() => {
        guard.dispose();
        running.delete(job);
      });
    const attestation = await provider.evidence({
      workerId: ctx.workerId,
      measurement,
      keys,
      nonce: resultBodyHash(signed.result),
    });
    logTrained(job, outputs);
    return release(signed, attestation, ciphertext);
  };

  /** What the host may see of a failure: an ObscuraError's code and message (written data-free), else a generic one. */
  const failureOf = (e: unknown, type: string): EnclaveFailure => {
    if (isObscuraError(e)) return { code: e.code, message: e.message, status: e.status };
    log('error', `internal error while handling ${type}: ${e instanceof Error ? e.name : 'unknown'}`);
    return {
      code: 'enclave_internal_error',
      message: `the enclave failed while handling ${type}`,
      status: 500,
    };
  };

  const handle = async (req: HostRequest): Promise<unknown> => {
    switch (req.type) {
      case 'hello':
        return hello();
      case 'attest':
        return {
          evidence: await provider.evidence({ workerId: ctx.workerId, measurement, keys, nonce: req.nonce }),
        };
      case 'validate_dataset': {
        const opened = await openSealedInput(req.input, ctx);
        remember([opened]);
        return { rows: opened.data.rows, schema: opened.data.schema };
      }
      case 'run_job': {
        const id = req.job.id;
        if (running.has(id) || [...awaiting.values()].some((w) => w.job === id)) {
          throw new ObscuraError('job_already_running', `job ${id} is already running on this worker`, 409);
        }
        const started = await startJob(req.job, ctx, (fraction, message) =>
          send({ type: 'progress', id: req.id, fraction, message }),
        );
        if (!started.spend) return execute(id, started, req.id);
        // Committed, nothing read: the job runs once its spend is on chain (confirm_ledger).
        awaiting.set(started.spend.entry.seq, { job: id, started, cancelled: false });
        return { ledger: started.spend };
      }
      case 'cancel_job': {
        const guard = running.get(req.job);
        guard?.cancel();
        // A federated job's part here stops too, mid-round.
        const federatedPart = federated.cancel(req.job);
        const waiting = [...awaiting.values()].find((w) => w.job === req.job);
        if (waiting) waiting.cancelled = true;
        return { cancelled: guard !== undefined || federatedPart || waiting !== undefined };
      }
      case 'confirm_ledger': {
        const entry = await ledger.confirm(req.placement);
        const waiting = awaiting.get(entry.entry.seq);
        if (!waiting) return { entry };
        awaiting.delete(entry.entry.seq);
        // The spend is on chain: from here the job may read data, and it has paid whatever happens.
        if (waiting.cancelled) return { entry, failed: failureOf(jobCancelled(), req.type) };
        try {
          return { entry, released: await execute(waiting.job, waiting.started, req.id) };
        } catch (e) {
          return { entry, failed: failureOf(e, req.type) };
        }
      }
      case 'ledger_unconfirmed':
        return { entries: ledger.unconfirmed() };
      case 'apply_policy_update': {
        assertManifestSignature(req.manifest);
        const hash = manifestHash(req.manifest.manifest);
        assertPolicyUpdate(req.update, req.manifest.manifest, hash);
        const known = ledger.policyVersion(hash);
        if (known.revoked)
          throw new ObscuraError(
            'dataset_revoked',
            `dataset ${req.datasetId} is revoked; its policy cannot change`,
            409,
          );
        if (req.update.update.version <= known.version) {
          throw new ObscuraError(
            'policy_update_stale',
            `policy version ${req.update.update.version} of dataset ${req.datasetId} is not newer than version ${known.version}`,
            409,
          );
        }
        await ledger.ensureFresh();
        return {
          ledger: ledger.applyPolicy(
            hash,
            req.update.update.version,
            req.update.update.revoked,
            statementHash(req.update),
          ),
        };
      }
      case 'fed_open':
        return federated.open(req.session, req.job, req.step, req.aggregator);
      case 'fed_init':
        return { global: await federated.init(req.session, req.job, req.peers, req.stats) };
      case 'fed_round':
        return { update: await federated.round(req.session, req.global) };
      case 'fed_average':
        return { global: await federated.average(req.session, req.updates) };
      case 'fed_evaluate':
        return { stats: await federated.evaluate(req.session, req.global) };
      case 'fed_close':
        return federated.close(req.session);
      case 'fed_finish': {
        const { signed, ciphertext } = await federated.finish(req.session, req.stats);
        log(
          'info',
          `federated job ${signed.result.job}: ${signed.result.federation?.workers.length} workers, ${signed.result.federation?.rounds} rounds`,
        );
        const attestation = await provider.evidence({
          workerId: ctx.workerId,
          measurement,
          keys,
          nonce: resultBodyHash(signed.result),
        });
        return release(signed, attestation, ciphertext);
      }
      case 'budget': {
        assertManifestSignature(req.manifest);
        const hash = manifestHash(req.manifest.manifest);
        if (req.policyUpdate) assertPolicyUpdate(req.policyUpdate, req.manifest.manifest, hash);
        const dp = withPolicyUpdate(req.manifest.manifest, req.policyUpdate?.update).policy?.dp;
        return ledger.budget(hash, {
          ...(dp?.epsilon !== undefined ? { epsilon: dp.epsilon } : {}),
          ...(dp?.delta !== undefined ? { delta: dp.delta } : {}),
        });
      }
      case 'handover_export': {
        if (!chainEndpoint)
          throw new ObscuraError(
            'handover_refused',
            'hand-over refused: the enclave was given no chain to check the authorisation on',
            503,
          );
        const sealedIdentity = await exportIdentity({
          state,
          ownMeasurement: measurement,
          ownTee: provider.tee,
          request: {
            evidence: req.evidence,
            nonce: req.nonce,
            measurement: req.measurement,
            statement: req.statement,
            authorization: req.authorization,
          },
          verifyAnchor: async (receipt, record) => {
            // Loaded on demand: the chain client is heavy and only hand-overs need it.
            const { ChainClient } = await import('../chain/client.ts');
            const chain = await ChainClient.connect(chainEndpoint);
            try {
              return await chain.verifyAnchor(receipt, record);
            } finally {
              await chain.close();
            }
          },
        });
        log('info', `identity released to measurement ${req.measurement}`);
        return { sealedIdentity };
      }
      case 'handover_import': {
        const next = await importIdentity(state.ageIdentity, req.sealedIdentity);
        if (next.workerId !== ctx.workerId) {
          throw new ObscuraError(
            'handover_invalid',
            `the handed-over identity belongs to worker ${next.workerId}, not ${ctx.workerId}`,
            422,
          );
        }
        persist(next);
        restored = true;
        return hello();
      }
    }
  };

  process.on('message', (raw: unknown) => {
    const parsed = HostRequestSchema.safeParse(raw);
    if (!parsed.success) {
      const id =
        typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'number'
          ? (raw as { id: number }).id
          : -1;
      send({
        type: 'response',
        id,
        ok: false,
        error: {
          code: 'enclave_bad_request',
          message: 'request does not match the enclave protocol',
          status: 400,
        },
      });
      return;
    }
    const req = parsed.data;
    handle(req).then(
      (value) => send({ type: 'response', id: req.id, ok: true, value }),
      (e: unknown) => {
        if (isObscuraError(e)) {
          send({
            type: 'response',
            id: req.id,
            ok: false,
            error: { code: e.code, message: e.message, status: e.status },
          });
        } else {
          log(
            'error',
            `internal error while handling ${req.type}: ${e instanceof Error ? e.name : 'unknown'}`,
          );
          send({
            type: 'response',
            id: req.id,
            ok: false,
            error: {
              code: 'enclave_internal_error',
              message: `the enclave failed while handling ${req.type}`,
              status: 500,
            },
          });
        }
      },
    );
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

main().catch((e: unknown) => {
  // Startup failures carry no data yet (no dataset has been opened), so the message is safe.
  process.stderr.write(
    `enclave failed to start: ${isObscuraError(e) ? `${e.code}: ` : ''}${e instanceof Error ? e.message : String(e)}\n`,
  );
  process.exit(1);
});
