/**
 * Per-job limits, enforced where the rows are: inside the enclave. A job may run for so
 * long (wall time), each step it materialises (and each set of rows read into enclave
 * memory for a model) may hold so many rows, and its DuckDB may use so much memory (no
 * spilling: see data/duckdb.ts). A job over a limit fails with 'job_limit_exceeded' and a
 * fixed message naming the limit, never a count: whether a job fits depends on the
 * pipeline's size and the operator's settings. A cancelled job fails with 'job_cancelled'.
 *
 * The operator sets the limits (environment or `obscura serve` flags); the enclave gets
 * them when it starts and clamps them to the ranges below. The floors keep a hostile host
 * from turning a limit into a fine-grained count: with a row limit of 10 a host could
 * learn whether a filter keeps ten rows; with 10,000 it learns only about the pipeline's
 * size. The ceilings keep a typo from meaning "no limit".
 */
import { z } from 'zod';
import { ObscuraError } from '../common/errors.ts';

/** Which limit a job exceeded. */
export type LimitKind = 'time' | 'rows' | 'memory';

const MIB = 1024 ** 2;
// How often long JavaScript work lets the event loop run, so a cancel (a message) gets in.
const YIELD_EVERY_MS = 50;

/** Defaults and allowed ranges of the per-job limits. */
export const JOB_LIMITS = {
  timeoutMs: { default: 15 * 60_000, min: 1_000, max: 24 * 3_600_000 },
  maxRows: { default: 50_000_000, min: 10_000, max: 10_000_000_000 },
  memoryBytes: { default: 2048 * MIB, min: 128 * MIB, max: 1024 * 1024 * MIB },
} as const;

/** The limits one job runs under. */
export const JobLimitsSchema = z.object({
  /** Wall time from the moment the enclave takes the job, in milliseconds. */
  timeoutMs: z.number().int().positive(),
  /** Rows any materialised step, or any read of rows into enclave memory, may hold. */
  maxRows: z.number().int().positive(),
  /** The memory a job may hold, in bytes: its decrypted inputs and its DuckDB together (inputMemory); the enclave process's heap is capped to the same. */
  memoryBytes: z.number().int().positive(),
});
export type JobLimits = z.infer<typeof JobLimitsSchema>;

const FIXED: Record<LimitKind, string> = {
  time: 'the job ran longer than the time limit per job',
  rows: 'a step of the job produced more rows than the row limit per step',
  memory: 'the job needed more memory than the memory limit per job',
};

/** The failure of a job over `kind`'s limit: a fixed message, no count. */
export function limitExceeded(kind: LimitKind): ObscuraError {
  return new ObscuraError('job_limit_exceeded', FIXED[kind], 422, { limit: kind });
}

/** The failure of a job its analyst cancelled. */
export function jobCancelled(): ObscuraError {
  return new ObscuraError('job_cancelled', 'the job was cancelled by its analyst', 409);
}

/** A size such as `2GB`, `512MiB`, `1.5 GiB` or a number of bytes, in bytes; undefined if unreadable. */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$/i.exec(text);
  if (!m) return undefined;
  const units: Record<string, number> = {
    b: 1,
    kb: 1e3,
    mb: 1e6,
    gb: 1e9,
    tb: 1e12,
    kib: 1024,
    mib: MIB,
    gib: 1024 * MIB,
    tib: 1024 ** 4,
  };
  const bytes = Number(m[1]) * (units[(m[2] ?? 'b').toLowerCase()] as number);
  return Number.isFinite(bytes) ? Math.floor(bytes) : undefined;
}

const clamp = (v: number | undefined, r: { default: number; min: number; max: number }) =>
  Math.min(r.max, Math.max(r.min, Math.round(v ?? r.default)));

/** The limits the enclave enforces: each given value clamped to its range, the default where none is given. */
export function effectiveLimits(given: Partial<JobLimits> = {}): JobLimits {
  return {
    timeoutMs: clamp(given.timeoutMs, JOB_LIMITS.timeoutMs),
    maxRows: clamp(given.maxRows, JOB_LIMITS.maxRows),
    memoryBytes: clamp(given.memoryBytes, JOB_LIMITS.memoryBytes),
  };
}

/** A byte count as DuckDB's memory_limit setting (whole MiB). */
export function duckdbMemory(bytes: number): string {
  return `${Math.max(1, Math.floor(bytes / MIB))}MiB`;
}

/**
 * The part of the memory limit per job that a job's decrypted inputs may hold (Arrow
 * columns in the enclave's own memory, outside DuckDB): three eighths. DuckDB gets the rest
 * (jobDuckdbMemory), so the two together never exceed the limit. Fixed rather than sized to
 * each job: DuckDB's memory limit is part of its locked configuration, and the warm cache
 * lives in databases pooled by configuration, so every job must ask for the same one.
 * Three eighths because a join of two 5M-row datasets (about 0.5 GB of decrypted columns by
 * the manifests' bound, enclave/job-memory.ts) then runs at the default 2 GiB, its DuckDB
 * needing between 0.75 and 1 GiB beside a warm cache of 0.5 GiB (measured).
 */
export function inputMemory(memoryBytes: number): number {
  return Math.floor((memoryBytes * 3) / 8);
}

/** DuckDB's memory_limit for a job: the memory limit per job less what its inputs may hold (inputMemory). */
export function jobDuckdbMemory(memoryBytes: number): string {
  return duckdbMemory(memoryBytes - inputMemory(memoryBytes));
}

/**
 * One job's guard: its deadline, its row limit and its cancellation. `signal` aborts (with
 * the failure as its reason) when the deadline passes or the job is cancelled, so DuckDB
 * can be interrupted; JavaScript loops call `checkpoint()` between units of work, which
 * also notices a deadline that passed while the event loop was busy, and now and then lets
 * the event loop run: training can keep it busy for minutes, and a cancel arrives as a
 * message.
 */
export class JobGuard {
  private readonly controller = new AbortController();
  private readonly deadline: number;
  private readonly timer: NodeJS.Timeout;
  private lastYield = Date.now();

  constructor(readonly limits: Pick<JobLimits, 'timeoutMs' | 'maxRows'>) {
    this.deadline = Date.now() + limits.timeoutMs;
    this.timer = setTimeout(() => this.abort(limitExceeded('time')), limits.timeoutMs);
    this.timer.unref();
  }

  /** Aborted when the job must stop; its reason is the ObscuraError to fail with. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Stop the job: it fails with 'job_cancelled'. */
  cancel(): void {
    this.abort(jobCancelled());
  }

  /** Throw the job's failure if it must stop (deadline passed, or cancelled). */
  check(): void {
    if (!this.signal.aborted && Date.now() >= this.deadline) this.abort(limitExceeded('time'));
    if (this.signal.aborted) throw this.signal.reason as ObscuraError;
  }

  /** check(), after letting the event loop run if it has not for a while. */
  async checkpoint(): Promise<void> {
    this.check();
    if (Date.now() - this.lastYield < YIELD_EVERY_MS) return;
    await new Promise((resolve) => setImmediate(resolve));
    this.lastYield = Date.now();
    this.check();
  }

  /** Throw 'job_limit_exceeded' (rows) when `rows` is over the row limit. */
  checkRows(rows: number | bigint): void {
    if (Number(rows) > this.limits.maxRows) throw limitExceeded('rows');
  }

  /** Release the deadline's timer once the job has ended. */
  dispose(): void {
    clearTimeout(this.timer);
  }

  private abort(reason: ObscuraError): void {
    if (!this.signal.aborted) this.controller.abort(reason);
  }
}
