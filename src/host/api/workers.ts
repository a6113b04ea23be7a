/**
 * The enclave workers this host runs, by id. The host only forwards to them; what they say
 * about themselves is checked by verifiers through attestation, not trusted here.
 */
import { ObscuraError } from '../../common/errors.ts';
import type { WorkerRecord } from '../../contracts/worker-record.ts';
import { EnclaveClient } from '../enclave-client.ts';

/** The set of running enclave workers. */
export class WorkerPool {
  private readonly workers = new Map<string, EnclaveClient>();
  private readonly restarting = new Map<string, Promise<EnclaveClient>>();

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
    // One restart at a time per worker: two processes started together on one sealed state
    // could each take it for missing and make a new identity. A second caller shares the first's.
    const inFlight = this.restarting.get(id);
    if (inFlight) return inFlight;
    const started = this.#restart(id).finally(() => this.restarting.delete(id));
    this.restarting.set(id, started);
    return started;
  }

  async #restart(id: string): Promise<EnclaveClient> {
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
