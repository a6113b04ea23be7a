/**
 * The host's handle on an enclave process: spawns it, sends validated requests, validates
 * every answer, routes progress, and fails pending requests if the process dies. The host
 * side of the channel; see protocol.ts for the messages.
 *
 * The process gets the operator's per-job limits in its environment and a V8 heap capped
 * to the memory limit (`--max-old-space-size`); the enclave enforces the limits itself. A
 * request given a deadline that the enclave does not answer by (a job stuck where the
 * enclave cannot interrupt it) has the process killed; a process that died of its heap cap
 * fails its requests as the memory limit. Either way the host starts a new process from
 * the same sealed state (WorkerPool.restart).
 *
 * Upload checks go in a few at a time (enclave-share.ts), so that a stream of uploads cannot
 * take the turns of a running job.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { teeEnv, type TeeSettings } from '../attestation/providers/config.ts';
import { ObscuraError } from '../common/errors.ts';
import { effectiveLimits, type JobLimits, limitExceeded } from '../pipelines/limits.ts';
import { ENCLAVE_ENTRY, PROJECT_ROOT } from '../contracts/measurement.ts';
import { DEFAULT_CHECKS_IN_FLIGHT, FairGate } from './enclave-share.ts';
import {
  type EnclaveInfo,
  EnclaveInfoSchema,
  EnclaveMessageSchema,
  type HostRequest,
  type HostRequestType,
  type ResponseValue,
  ResponseValueSchemas,
} from '../contracts/enclave-protocol.ts';

// tsx's loader by absolute URL: `--import tsx` would resolve from the caller's working
// directory, which need not be this project.
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * V8 heap flags of the enclave process (and of the benches that measure its work in their
 * own process: package.json `bench`, bench/store-scale.ts). V8 counts the ArrayBuffer bytes
 * allocated since the last full collection against the old generation's limit, which for
 * the enclave's ~25 MB heap starts at ~44 MB less the young generation's 16 MB: an upload's
 * ~95 MB of buffers (the parse threads' columns arriving, the store's sealed chunks) set off
 * 4-5 full collections of the whole heap at 1M rows. A 64 MB initial old space leaves room
 * for ~2.5 times as many bytes between collections: 1 full collection an upload, and a 1M-row
 * ingest 0.68 -> 0.57 CPU s (A/B, alternating processes, 2026-12-07), peak RSS the same.
 * V8 reads it at start only (v8.setFlagsFromString later changes nothing).
 */
export const ENCLAVE_HEAP_FLAGS: readonly string[] = ['--initial-old-space-size=64'];

/** Where enclave log lines go on the host. */
export type EnclaveLogger = (level: 'info' | 'warn' | 'error', message: string) => void;

interface Pending {
  type: HostRequestType;
  resolve: (value: unknown) => void;
  reject: (e: Error) => void;
  onProgress?: (fraction: number, message: string) => void;
}

/** Options to start an enclave process. */
export interface EnclaveOptions {
  dataDir: string;
  workerId: string;
  /** Where the enclave gets its evidence; default the simulated TEE. */
  tee?: TeeSettings;
  log?: EnclaveLogger;
  startTimeoutMs?: number;
  /** Run the enclave from another code tree (an upgrade's predecessor or successor); default this one. */
  root?: string;
  /** Chain endpoint the enclave checks anchors against (hand-over authorisations). */
  chainEndpoint?: string;
  /** Accounts (SS58) that may authorise upgrades; a new identity keeps them for good (see state.ts). */
  operators?: string[];
  /** The operator's per-job limits (defaults where absent; the enclave clamps them to its ranges). */
  limits?: Partial<JobLimits>;
  /** Upload checks (validate_dataset) the process runs at once; more wait their turn. Default 4. */
  checksInFlight?: number;
  /**
   * What starts the enclave's process from its entry file, Node options and environment;
   * default node's `fork` with an IPC channel (see EnclaveSpawn).
   */
  spawn?: EnclaveSpawn;
}

/**
 * Starts an enclave process: its entry file, the Node options it runs with (the tsx loader,
 * the heap cap) and the environment the enclave reads its settings from. The process must
 * speak the protocol over an IPC channel with `advanced` serialization, and pipe stdout and
 * stderr. `obscura serve` uses forkEnclave; tests that are not about the process boundary
 * run the same enclave code in-process through a stand-in for the channel (under test/).
 */
export type EnclaveSpawn = (entry: string, execArgv: string[], env: NodeJS.ProcessEnv) => ChildProcess;

/** The enclave as a child process of this one, talking over node's IPC channel. */
export const forkEnclave: EnclaveSpawn = (entry, execArgv, env) =>
  fork(entry, [], {
    execArgv,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'advanced',
  });

// V8 prints one of these when a heap cap is reached, just before it aborts.
const HEAP_EXHAUSTED = /JavaScript heap out of memory|Reached heap limit/;

type RequestBody<T extends HostRequestType> = Omit<Extract<HostRequest, { type: T }>, 'id' | 'type'>;

/** A running enclave process. */
export class EnclaveClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exited = false;
  private hello: EnclaveInfo | undefined;
  /** Upload checks wait here for their turn in the enclave (enclave-share.ts). */
  private readonly checks: FairGate;

  private constructor(
    private readonly child: ChildProcess,
    private readonly workerId: string,
    /** How this process was started: WorkerPool.restart starts its successor the same way. */
    readonly options: EnclaveOptions,
    private readonly stderrTail: () => string,
  ) {
    this.checks = new FairGate(options.checksInFlight ?? DEFAULT_CHECKS_IN_FLIGHT);
  }

  /** The enclave process's id (benchmarks read its peak memory from /proc). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** What the enclave said about itself when it started. */
  get info(): EnclaveInfo {
    if (!this.hello) throw new Error('enclave has not said hello yet');
    return this.hello;
  }

  /** Start an enclave process and wait until it has its identity. Throws 'enclave_start_failed'. */
  static async start(opts: EnclaveOptions): Promise<EnclaveClient> {
    const log = opts.log ?? (() => {});
    // Another code tree (a predecessor or successor release) runs its own enclave entry.
    const entry = join(opts.root ?? PROJECT_ROOT, ENCLAVE_ENTRY);
    const limits = effectiveLimits(opts.limits);
    const child = (opts.spawn ?? forkEnclave)(
      entry,
      // The heap gets the memory limit per job, as DuckDB does: a job's rows live in one or the other.
      [
        '--import',
        TSX_LOADER,
        `--max-old-space-size=${Math.floor(limits.memoryBytes / 1024 ** 2)}`,
        ...ENCLAVE_HEAP_FLAGS,
      ],
      {
        // glibc hands freed heap back to the OS beyond 128 KiB; node:crypto allocates a fresh
        // buffer per 64 KiB STREAM chunk and V8 frees them in bursts, so a decryption kept
        // faulting in fresh pages (first touch costs ~1-4.6 ms/MB on these VMs). Keeping up to
        // 64 MiB of freed heap cut the page faults of 1 GiB of chunks from 66k-168k to under 7k
        // (in a process with a large heap, as the enclave has); an operator's own setting wins.
        MALLOC_TRIM_THRESHOLD_: String(64 * 1024 * 1024),
        ...process.env,
        OBSCURA_DATA_DIR: opts.dataDir,
        OBSCURA_WORKER_ID: opts.workerId,
        OBSCURA_JOB_TIMEOUT_MS: String(limits.timeoutMs),
        OBSCURA_JOB_MAX_ROWS: String(limits.maxRows),
        OBSCURA_JOB_MEMORY_BYTES: String(limits.memoryBytes),
        ...(opts.chainEndpoint ? { OBSCURA_CHAIN_ENDPOINT: opts.chainEndpoint } : {}),
        // Always set, so that the host's own environment variable never reaches the enclave unchecked.
        OBSCURA_OPERATORS: (opts.operators ?? []).join(','),
        ...teeEnv(opts.tee ?? { tee: 'simulated' }),
      },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-2000);
    });
    child.stdout?.on('data', (d: Buffer) => log('info', d.toString('utf8').trimEnd()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new ObscuraError('enclave_start_failed', `enclave ${opts.workerId} did not start in time`, 503),
        );
      }, opts.startTimeoutMs ?? 60_000);
      // Log lines may come before 'ready' (and before a failure at start): only 'ready' means started.
      const onMessage = (raw: unknown) => {
        const msg = EnclaveMessageSchema.safeParse(raw);
        if (msg.success && msg.data.type === 'log') return log(msg.data.level, msg.data.message);
        if (!msg.success || msg.data.type !== 'ready') return;
        child.off('message', onMessage);
        clearTimeout(timer);
        resolve();
      };
      child.on('message', onMessage);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(
          new ObscuraError(
            'enclave_start_failed',
            `enclave ${opts.workerId} exited at start (code ${code}): ${stderr.trim().split('\n').pop() ?? ''}`,
            503,
          ),
        );
      });
    });
    const client = new EnclaveClient(child, opts.workerId, opts, () => stderr);
    client.listen(log);
    client.hello = EnclaveInfoSchema.parse(await client.request('hello', {}));
    return client;
  }

  private listen(log: EnclaveLogger): void {
    this.child.on('message', (raw: unknown) => {
      const parsed = EnclaveMessageSchema.safeParse(raw);
      if (!parsed.success) {
        log('error', 'enclave sent a message outside the protocol; ignored');
        return;
      }
      const msg = parsed.data;
      if (msg.type === 'log') return log(msg.level, msg.message);
      if (msg.type === 'ready') return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      if (msg.type === 'progress') return p.onProgress?.(msg.fraction, msg.message);
      this.pending.delete(msg.id);
      if (!msg.ok) {
        p.reject(new ObscuraError(msg.error.code, msg.error.message, toStatus(msg.error.status)));
        return;
      }
      const value = ResponseValueSchemas[p.type].safeParse(msg.value);
      if (value.success) p.resolve(value.data);
      else
        p.reject(
          new ObscuraError('enclave_bad_response', `enclave answered ${p.type} outside the protocol`, 502),
        );
    });
    this.child.on('exit', () => {
      this.exited = true;
    });
    // 'close' comes after the process's stderr has ended, so a heap abort's last words are in.
    this.child.on('close', (code, signal) => {
      this.exited = true;
      const failure = HEAP_EXHAUSTED.test(this.stderrTail())
        ? limitExceeded('memory')
        : new ObscuraError(
            'enclave_crashed',
            `enclave ${this.workerId} stopped (${signal ?? `code ${code}`})`,
            503,
          );
      for (const p of this.pending.values()) p.reject(failure);
      this.pending.clear();
    });
  }

  /** Ask the enclave again what it is (after a hand-over changed its keys). */
  async refreshInfo(): Promise<EnclaveInfo> {
    this.hello = EnclaveInfoSchema.parse(await this.request('hello', {}));
    return this.hello;
  }

  /** Whether the process is still running. */
  get running(): boolean {
    return !this.exited;
  }

  /**
   * Send a request and wait for its validated answer. With `deadlineMs`, an enclave that
   * has not answered by then is killed and the request fails as the time limit.
   */
  request<T extends HostRequestType>(
    type: T,
    body: RequestBody<T>,
    onProgress?: (fraction: number, message: string) => void,
    opts: { deadlineMs?: number } = {},
  ): Promise<ResponseValue<T>> {
    if (type === 'validate_dataset') return this.checks.run(() => this.send(type, body, onProgress, opts));
    return this.send(type, body, onProgress, opts);
  }

  private send<T extends HostRequestType>(
    type: T,
    body: RequestBody<T>,
    onProgress: ((fraction: number, message: string) => void) | undefined,
    opts: { deadlineMs?: number },
  ): Promise<ResponseValue<T>> {
    if (this.exited) {
      return Promise.reject(
        new ObscuraError('enclave_crashed', `enclave ${this.workerId} is not running`, 503),
      );
    }
    const id = this.nextId++;
    const answer = new Promise<ResponseValue<T>>((resolve, reject) => {
      this.pending.set(id, {
        type,
        resolve: resolve as (v: unknown) => void,
        reject,
        ...(onProgress ? { onProgress } : {}),
      });
      // A channel that closed before the exit event (the process just died) reports it here;
      // without the callback node would raise it as an uncaught error and stop the host.
      this.child.send({ id, type, ...body }, (e: Error | null) => {
        if (!e || !this.pending.delete(id)) return;
        reject(new ObscuraError('enclave_crashed', `enclave ${this.workerId} is not running`, 503));
      });
    });
    if (opts.deadlineMs === undefined) return answer;
    const timer = setTimeout(() => {
      const p = this.pending.get(id);
      if (!p) return;
      this.pending.delete(id);
      p.reject(limitExceeded('time'));
      this.child.kill('SIGKILL');
    }, opts.deadlineMs);
    return answer.finally(() => clearTimeout(timer));
  }

  /** Kill the process at once (a job it cannot stop); pending requests fail. */
  async kill(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await done;
  }

  /** Stop the process. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(timer);
  }
}

function toStatus(status: number): ObscuraError['status'] {
  const known = [400, 401, 403, 404, 409, 413, 415, 422, 500, 502, 503] as const;
  return (known as readonly number[]).includes(status) ? (status as ObscuraError['status']) : 500;
}
