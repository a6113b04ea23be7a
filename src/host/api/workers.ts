/**
 * The enclave workers this host runs, by id. The host only forwards to them; what they say
 * about themselves is checked by verifiers through attestation, not trusted here.
 */
import { HardwareIdentitySchema, MeasurementSourceSchema } from '../../attestation/providers/identity.ts';
import { ProviderKindSchema } from '../../attestation/providers/provider.ts';
import { SealingRootSourceSchema } from '../../attestation/providers/sealing-root.ts';
import { ObscuraError } from '../../common/errors.ts';
import { EnclaveClient } from '../enclave-client.ts';
import { JobLimitsSchema } from '../../pipelines/limits.ts';
import { z } from 'zod';

/** A worker as the API lists it. */
export const WorkerRecordSchema = z.object({
  id: z.string(),
  tee: z.string(),
  /** How the worker gets its evidence: simulated, tdx-configfs, dstack or sgx-gramine. */
  provider: ProviderKindSchema,
  simulated: z.boolean(),
  measurement: z.string(),
  /** `hardware` when the measurement is the SGX MRENCLAVE, `code` when it is the code measurement. */
  measurementSource: MeasurementSourceSchema,
  /** Registers from the worker's own quote at start (TDX MRTD and RTMRs, SGX MRENCLAVE and MRSIGNER). */
  hardware: HardwareIdentitySchema.optional(),
  /**
   * Where the key of the worker's sealed state comes from: `simulated-file` (a file in the
   * data directory: anyone who can read it can unseal the worker's keys), `sgx-mrenclave` or
   * `dstack-kms`. What the worker says of itself, like the rest of this record; its code
   * (the measurement the attestation proves) decides it.
   */
  sealingRoot: SealingRootSourceSchema,
  recipient: z.string(),
  signingKey: z.string(),
  status: z.enum(['running', 'stopped']),
  /** The per-job limits the worker's enclave enforces (wall time in ms, rows, memory in bytes). */
  limits: JobLimitsSchema.optional(),
});
export type WorkerRecord = z.infer<typeof WorkerRecordSchema>;

/** The set of running enclave workers. */
export class WorkerPool {
  private readonly workers = new Map<string, EnclaveClient>();

  /** Add a started enclave. */
  add(client: EnclaveClient): void {
    this.workers.set(client.info.workerId, client);
  }

  /** The enclave of a worker; throws 'worker_not_found' (404) or 'worker_unavailable' (503). */
  get(id: string): EnclaveClient {
    const w = this.workers.get(id);
    if (!w) throw new ObscuraError('worker_not_found', `no worker with id ${id}`, 404);
    if (!w.running) throw new ObscuraError('worker_unavailable', `worker ${id} is not running`, 503);
    return w;
  }

  /**
   * Replace a worker's enclave process (stopped, or stuck in a job it cannot stop) with a new
   * one started the same way: it unseals the same identity from its sealed state. Throws
   * 'worker_not_found' (404), or what starting throws.
   */
  async restart(id: string): Promise<EnclaveClient> {
    const old = this.workers.get(id);
    if (!old) throw new ObscuraError('worker_not_found', `no worker with id ${id}`, 404);
    await old.kill();
    const next = await EnclaveClient.start(old.options);
    this.workers.set(id, next);
    if (next.info.keys.signingKey !== old.info.keys.signingKey) {
      throw new ObscuraError(
        'worker_identity_changed',
        `worker ${id} came back with a new identity: its sealed state was not restored`,
        503,
      );
    }
    return next;
  }

  /** All workers as the API shows them. */
  list(): WorkerRecord[] {
    return [...this.workers.values()].map((w) => ({
      id: w.info.workerId,
      tee: w.info.tee,
      provider: w.info.provider,
      simulated: w.info.tee === 'simulated',
      measurement: w.info.measurement,
      measurementSource: w.info.measurementSource,
      ...(w.info.hardware ? { hardware: w.info.hardware } : {}),
      sealingRoot: w.info.sealingRoot ?? 'simulated-file',
      recipient: w.info.keys.recipient,
      signingKey: w.info.keys.signingKey,
      status: w.running ? 'running' : 'stopped',
      ...(w.info.limits
        ? {
            limits: {
              timeoutMs: w.info.limits.timeoutMs,
              maxRows: w.info.limits.maxRows,
              memoryBytes: w.info.limits.memoryBytes,
            },
          }
        : {}),
    }));
  }

  /** Stop every enclave. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
  }
}
