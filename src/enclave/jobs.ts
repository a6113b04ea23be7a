/**
 * Running a job inside the enclave: check it and consume what it spends (job-check.ts), open
 * every input (datasets.ts, the store, or a stream), run the pipeline on DuckDB, and sign
 * the aggregate result, sealed to its readers.
 */
import type { Manifest } from '../crypto/manifest.ts';
import { checkPipeline, type PipelineOutputs, type RunOptions, runPipeline } from '../pipelines/index.ts';
import type { ParsedDataset, WarmInput } from '../data/index.ts';
import { warmCacheBytes } from './warm-cache.ts';
import { applyLimits, type EffectiveLimits } from '../privacy/enforce.ts';
import type { PipelineDocument } from '../pipelines/schema.ts';
import type { SignedLedgerEntry } from '../contracts/ledger.ts';
import { keepStore, openFromStore, storeReadsWhole } from './store/open.ts';
import { releaseStoreRead } from './store/read.ts';
import { checkSealedInputStreaming } from './stream-input.ts';
import { inputMode, streamAndRun } from './stream-job.ts';
import { afterData, dataCondition } from './data-condition.ts';
import { type OpenedDataset, openSealedInput } from './datasets.ts';
import type { JobSpec } from '../contracts/enclave-protocol.ts';
import { type ResultBody, type SignedResult, signResult } from '../contracts/result.ts';
import {
  type Outputs,
  outputsArePublic,
  releaseOutputs,
  resultReaders,
} from '../contracts/result-outputs.ts';
import { type JobGuard, jobDuckdbMemory } from '../pipelines/limits.ts';
import { chargesOf, checkJob, consume, type JobContext, type Progress } from './job-check.ts';

/** A job checked and, where it spends, committed; it has read nothing yet. */
export interface StartedJob {
  /**
   * The spend entry (privacy budget, approval runs), when the job spends any: `run` must
   * wait until the host has placed its head on chain and the enclave has checked it there.
   */
  spend?: SignedLedgerEntry;
  /**
   * Open the inputs, run the pipeline and sign the result. A failure before the inputs are
   * read keeps its precise error; once they are read, every failure is data-free
   * (job_data_condition, or a limit's or cancel's own code: data-condition.ts).
   */
  run: (
    progress: Progress,
    onOpened?: (opened: OpenedDataset[]) => void,
    guard?: JobGuard,
  ) => Promise<Released>;
}

/**
 * A signed result as the enclave releases it: with the age file of its sealed outputs, and
 * the plaintext outputs, which stay in the enclave (for its own log lines only).
 */
export interface Released {
  signed: SignedResult;
  ciphertext?: Buffer;
  outputs: Outputs;
}

/**
 * Start a job: check everything that needs no decryption (the request, the owners'
 * statements, the policies, the plan, and, for a job that spends, that each input's
 * ciphertext is there and is the one its owner signed), then consume what it spends. A job
 * that spends privacy budget or approval runs thus has its spend committed to the sealed
 * ledger before it decrypts anything, and reads data only after the spend is anchored: a
 * process killed mid-job (by the host, or by a heap abort) has spent, and a host that
 * withholds the anchor gets a job that never reads data. Once committed, a spend is never
 * given back, not even for a job that then fails before reading (the ledger only grows;
 * see README, "A DP job has spent its budget before it reads data").
 */
export async function startJob(job: JobSpec, ctx: JobContext, progress: Progress): Promise<StartedJob> {
  const checked = checkJob(job, ctx);
  const { doc, hash, limits, manifests, plan } = checked;
  // A job whose inputs cannot fit nor stream is refused before it spends or reads anything.
  inputMode(job, applyLimits(doc, limits), ctx.limits.memoryBytes);
  const charges = chargesOf(doc, plan, job, manifests);
  if (charges.length > 0 || checked.runs.length > 0) {
    // Ciphertext is public: checking it tells nothing, and spares a spend on a bad input.
    for (const input of job.inputs) await checkSealedInputStreaming(input, ctx);
  }
  const spend = await consume(job.id, checked, charges, ctx, progress);
  return {
    ...(spend ? { spend } : {}),
    run: async (runProgress, onOpened = () => {}, guard) => {
      let read = false;
      const opened = (o: OpenedDataset[]) => {
        read = true;
        onOpened(o);
      };
      try {
        return await runReserved(job, ctx, runProgress, opened, { doc, hash, limits, manifests }, guard);
      } catch (e) {
        throw read ? dataCondition(e) : e;
      }
    },
  };
}

async function runReserved(
  job: JobSpec,
  ctx: JobContext,
  progress: Progress,
  onOpened: (opened: OpenedDataset[]) => void,
  checked: { doc: PipelineDocument; hash: string; limits: EffectiveLimits; manifests: Map<string, Manifest> },
  guard: JobGuard | undefined,
): Promise<Released> {
  const { doc, hash, manifests } = checked;
  const { opened, outputs } = await openAndRun(job, ctx, progress, onOpened, checked, guard ? { guard } : {});
  progress(0.95, 'signing result');
  const request = job.request.request;
  const released = await releaseOutputs(outputs, {
    open: outputsArePublic(
      doc.visibility,
      job.inputs.map((i) => manifests.get(i.name)?.policy),
    ),
    readers: resultReaders(
      { account: request.analyst, recipient: request.recipient },
      job.inputs.map((i) => ({
        account: i.manifest.manifest.owner,
        recipient: i.manifest.manifest.resultRecipient,
      })),
    ),
  });
  const body: ResultBody = {
    obscura: 'result/2',
    job: job.id,
    analyst: job.request.request.analyst,
    request: job.request,
    pipeline: { name: doc.name, hash },
    inputs: job.inputs.map((input, i) => resultInput(input, opened[i] as OpenedDataset)),
    outputs: released.outputs,
    enclave: resultEnclave(ctx),
    createdAt: new Date().toISOString(),
  };
  return {
    signed: signResult(body, ctx.signingSeed),
    ...(released.ciphertext ? { ciphertext: released.ciphertext } : {}),
    outputs,
  };
}

/** What a result commits to about one opened input. */
export function resultInput(
  input: JobSpec['inputs'][number],
  o: OpenedDataset,
): ResultBody['inputs'][number] {
  return {
    name: input.name,
    dataset: input.datasetId,
    owner: o.manifest.manifest.owner,
    manifestHash: o.manifestHash,
    plaintextSha256: o.manifest.manifest.plaintext.sha256,
    ciphertextSha256: o.manifest.manifest.ciphertext.sha256,
    rows: o.data.rows,
  };
}

/**
 * Open a checked job's inputs and run its pipeline under the enclave's memory limit (with
 * `extra` run options: the job's guard, a federated trainer).
 */
export async function openAndRun(
  job: JobSpec,
  ctx: JobContext,
  progress: Progress,
  onOpened: (opened: OpenedDataset[]) => void,
  checked: { doc: PipelineDocument; limits: EffectiveLimits },
  extra: Pick<RunOptions, 'trainer' | 'guard'> = {},
): Promise<{ opened: OpenedDataset[]; outputs: PipelineOutputs }> {
  const { doc, limits } = checked;
  const limited = applyLimits(doc, limits);
  if (
    !extra.trainer &&
    inputMode(job, limited, ctx.limits.memoryBytes) === 'stream' &&
    !(await storedWhole(job, ctx))
  )
    return streamAndRun(job, ctx, limited, onOpened, progress, extra.guard);
  const opened = await openInputs(job, ctx, limited, progress, extra.guard, { warm: true });
  onOpened(opened);
  // From here on a failure may depend on the rows: it leaves the enclave data-free.
  const outputs = await afterData(async () => {
    const byName: Record<string, ParsedDataset | WarmInput> = {};
    job.inputs.forEach((input, i) => {
      const o = opened[i] as OpenedDataset & { source?: WarmInput };
      byName[input.name] = o.source ?? o.data;
    });
    checkPipeline(doc, Object.fromEntries(Object.entries(byName).map(([name, d]) => [name, d.schema])));
    progress(0.5, 'running pipeline');
    // Each output's min_group_size raised to the strictest of the pipeline's and the policies'.
    try {
      return await runPipeline(limited, byName, {
        onProgress: (f, message) => progress(0.5 + 0.4 * f, message),
        memoryLimit: jobDuckdbMemory(ctx.limits.memoryBytes),
        warmCacheBytes: warmCacheBytes(ctx.limits),
        ...extra,
      });
    } finally {
      // The run is over (its DuckDB connection closed): the rows read from stores are not read again.
      for (const o of opened) for (const d of [o.data, o.source?.data]) if (d) releaseStoreRead(d);
    }
  });
  return { opened, outputs };
}

/** Whether a job that would stream its one input reads it from its store in one query instead (store/open.ts storeReadsWhole). */
async function storedWhole(job: JobSpec, ctx: JobContext): Promise<boolean> {
  return storeReadsWhole(job.inputs[0] as JobSpec['inputs'][number], ctx);
}

/**
 * Open a checked job's inputs for the columns the (limited) pipeline reads: from the
 * enclave's store when the dataset has one, else from its upload (whose store is kept).
 * With `warm`, a stored input may come with a warm-cache source (store/open.ts).
 */
export async function openInputs(
  job: JobSpec,
  ctx: JobContext,
  limited: PipelineDocument,
  progress: Progress,
  guard?: JobGuard,
  opts: { warm?: boolean } = {},
): Promise<(OpenedDataset & { source?: WarmInput })[]> {
  const opened: (OpenedDataset & { source?: WarmInput })[] = [];
  const reads = checkPipeline(
    limited,
    Object.fromEntries(job.inputs.map((i) => [i.name, i.manifest.manifest.schema])),
  ).inputs;
  for (const [i, input] of job.inputs.entries()) {
    guard?.check();
    progress((0.5 * i) / job.inputs.length, `opening input ${input.name}`);
    const columns = reads.find((r) => r.name === input.name)?.columnsRead ?? [];
    const stored = await openFromStore(input, ctx, columns, opts);
    if (stored) opened.push(stored);
    else {
      const sealed = await openSealedInput(input, ctx);
      await keepStore(input, sealed, ctx);
      opened.push(sealed);
    }
  }
  return opened;
}

/** The enclave that signs a result, as the result names it (local and federated results alike). */
export function resultEnclave(ctx: JobContext): ResultBody['enclave'] {
  return {
    worker: ctx.workerId,
    tee: ctx.tee,
    simulated: ctx.tee === 'simulated',
    measurement: ctx.measurement,
    signingKey: ctx.signingKey,
  };
}
