/**
 * Running a job inside the enclave: verify the analyst's signed request, open every input
 * (see datasets.ts), enforce who may run it, check the pipeline against the inputs' schemas, run it on DuckDB, and sign the
 * aggregate result. The host already checked most of this; the enclave checks again
 * because the host is untrusted.
 */
import type { TeeKind } from '../attestation/providers/provider.ts';
import { ObscuraError } from '../common/errors.ts';
import { assertManifestSignature, type Manifest, manifestHash } from '../crypto/manifest.ts';
import {
  assertApproval,
  assertApprovalCovers,
  statementHash,
  withPolicyUpdate,
} from '../privacy/statements.ts';
import {
  assertJobMatchesRequest,
  assertJobRequestFresh,
  assertJobRequestSignature,
  JOB_REQUEST_MAX_AGE_MS,
  type JobRequest,
  jobRequestHash,
  purposeHash,
} from '../privacy/job-request.ts';
import {
  checkPipeline,
  parsePipeline,
  pipelineHash,
  type PipelineOutputs,
  type PipelinePlan,
  type RunOptions,
  runPipeline,
} from '../pipelines/index.ts';
import type { ParsedDataset, WarmInput } from '../data/index.ts';
import { warmCacheBytes } from './warm-cache.ts';
import { applyLimits, type EffectiveLimits, enforcePolicies } from '../privacy/enforce.ts';
import { privacyCost } from '../privacy/cost.ts';
import type { PipelineDocument } from '../pipelines/schema.ts';
import type { SignedLedgerEntry } from '../contracts/ledger.ts';
import type { BudgetCharge, LedgerService, RunCharge } from './ledger-service.ts';
import { keepStore, openFromStore, storeFitsMemory } from './store/open.ts';
import { checkSealedInputStreaming } from './stream-input.ts';
import { inputMode, streamAndRun } from './stream-job.ts';
import { afterData, dataCondition } from './data-condition.ts';
import { assertNotRevoked, assertNotStale, knownPolicy } from './policy-in-force.ts';
import { type OpenContext, type OpenedDataset, openSealedInput } from './datasets.ts';
import type { JobSpec } from '../contracts/enclave-protocol.ts';
import { type ResultBody, type SignedResult, signResult } from '../contracts/result.ts';
import {
  type Outputs,
  outputsArePublic,
  releaseOutputs,
  resultReaders,
} from '../contracts/result-outputs.ts';
import { duckdbMemory, type JobGuard, type JobLimits } from '../pipelines/limits.ts';

/** The enclave's identity as a job needs it. */
export interface JobContext extends OpenContext {
  workerId: string;
  tee: TeeKind;
  signingKey: string;
  signingSeed: Uint8Array;
  /** The budget ledger: policy versions applied, budget reservations and spends. */
  ledger: LedgerService;
  /** The per-job limits this enclave enforces (fixed when it started; see pipelines/limits.ts). */
  limits: JobLimits;
}

/** Reports progress as a fraction in [0, 1] with a short message free of data. */
export type Progress = (fraction: number, message: string) => void;

/**
 * The owners' later statements about each input, verified: the newest policy update
 * (signed by the manifest's owner, and no older than the newest this enclave has applied:
 * the host must not hand it a superseded, wider policy) replaces the manifest's policy,
 * and a revoked dataset refuses the job. Where the policy in force asks for approval, an
 * approval of this pipeline counts only when signed by the owner for the request's analyst
 * and purpose and not expired; each such approval is one run to take from its count.
 */
function ownerStatements(
  job: JobSpec,
  pipelineHash: string,
  request: JobRequest,
  ctx: JobContext,
): { manifests: Map<string, Manifest>; approved: Set<string>; runs: RunCharge[] } {
  const manifests = new Map<string, Manifest>();
  const approved = new Set<string>();
  const runs: RunCharge[] = [];
  for (const input of job.inputs) {
    const { manifest } = input.manifest;
    const hash = manifestHash(manifest);
    const update = input.policyUpdate;
    const known = knownPolicy(manifest, hash, update, ctx.ledger);
    const given = update?.update.version ?? 1;
    assertNotStale(
      given < known.version,
      `the host gave policy version ${given} of dataset ${input.datasetId} (input ${input.name}); version ${known.version} is in force`,
      { input: input.name },
    );
    if (given > known.version) {
      throw new ObscuraError(
        'policy_update_unapplied',
        `policy version ${given} of dataset ${input.datasetId} (input ${input.name}) was never applied to this worker`,
        409,
        {
          input: input.name,
        },
      );
    }
    assertNotRevoked(
      known.revoked || update?.update.revoked === true,
      `the owner of dataset ${input.datasetId} (input ${input.name}) revoked it`,
      403,
      { input: input.name },
    );
    const effective = withPolicyUpdate(manifest, update?.update);
    manifests.set(input.name, effective);
    const approval = input.approval;
    if (
      effective.policy?.pipelines === 'approval' &&
      approval &&
      approval.approval.pipeline === pipelineHash
    ) {
      const label = `dataset ${input.datasetId} (input ${input.name})`;
      assertApproval(approval, manifest, hash);
      assertApprovalCovers(approval.approval, {
        analyst: request.analyst,
        purpose: purposeHash(request.purpose),
        now: Date.now(),
        label,
      });
      approved.add(input.name);
      runs.push({ approval: statementHash(approval), runs: approval.approval.runs, label });
    }
  }
  return { manifests, approved, runs };
}

/**
 * What each input's budget is charged: the privacy cost of every DP output behind which
 * its rows lie, whatever the output's kind (the plan's lineage; DP-SGD included), against
 * the totals of the input's effective policy.
 */
export function chargesOf(
  doc: PipelineDocument,
  plan: PipelinePlan,
  job: JobSpec,
  manifests: Map<string, Manifest>,
): BudgetCharge[] {
  const cost = privacyCost(doc, plan);
  if (cost.epsilon === 0 && cost.delta === 0) return [];
  return job.inputs.map((input) => {
    const dp = manifests.get(input.name)?.policy?.dp;
    const mine = cost.inputs[input.name] ?? cost;
    return {
      dataset: manifestHash(input.manifest.manifest),
      epsilon: mine.epsilon,
      delta: mine.delta,
      totals: {
        ...(dp?.epsilon !== undefined ? { epsilon: dp.epsilon } : {}),
        ...(dp?.delta !== undefined ? { delta: dp.delta } : {}),
      },
      label: `${input.datasetId} (input ${input.name})`,
    };
  });
}

/** A job as checked: its pipeline, limits, effective manifests, the approval runs it takes, and its request. */
export interface CheckedJob {
  doc: PipelineDocument;
  hash: string;
  limits: EffectiveLimits;
  manifests: Map<string, Manifest>;
  runs: RunCharge[];
  request: JobRequest;
  /** The plan over the owner-signed schemas. */
  plan: PipelinePlan;
}

/**
 * Everything about a job that is checked before anything is decrypted: the analyst's
 * signed request (signature, freshness, and that it asks for this pipeline, these outputs
 * and these datasets; the analyst is taken from it and nowhere else), the owners'
 * signatures, who may run it, their later statements and their dataset policies, against
 * the plan over the owner-signed schemas (the host is untrusted). `partial`: the job is one
 * worker's share of a federated job, so it holds some of the request's datasets.
 */
export function checkJob(job: JobSpec, ctx: JobContext, opts: { partial?: boolean } = {}): CheckedJob {
  assertJobRequestSignature(job.request);
  const request = job.request.request;
  assertJobRequestFresh(request, Date.now());
  const doc = parsePipeline(job.pipeline);
  const hash = pipelineHash(doc);
  for (const input of job.inputs) assertManifestSignature(input.manifest);
  const given = job.inputs.map((i) => ({
    name: i.name,
    dataset: i.datasetId,
    manifest: manifestHash(i.manifest.manifest),
  }));
  assertJobMatchesRequest(
    request,
    { pipelineHash: hash, outputs: Object.keys(doc.outputs), inputs: given },
    opts,
  );
  const analyst = request.analyst;
  for (const input of job.inputs) {
    const { manifest } = input.manifest;
    if (!manifest.analysts.includes('*') && !manifest.analysts.includes(analyst)) {
      throw new ObscuraError(
        'analyst_not_allowed',
        `analyst ${analyst} is not allowed to use dataset ${input.datasetId}`,
        403,
      );
    }
  }
  const signedPlan = checkPipeline(
    doc,
    Object.fromEntries(job.inputs.map((input) => [input.name, input.manifest.manifest.schema])),
  );
  const { manifests, approved, runs } = ownerStatements(job, hash, request, ctx);
  const policyInputs = job.inputs.map((input) => ({
    name: input.name,
    manifest: manifests.get(input.name) as Manifest,
  }));
  const limits = enforcePolicies(signedPlan, policyInputs, {
    analyst,
    pipelineHash: hash,
    now: new Date(),
    doc,
    approved,
  });
  return { doc, hash, limits, manifests, runs, request, plan: signedPlan };
}

/**
 * Take what a checked job consumes, all or nothing, and commit it at once: its request's
 * single use, the budget of every input and one run of each approval it relies on, as a
 * spend entry persisted in the sealed state (from here on they count as spent, whatever
 * happens to the job or the process). When it spends budget or runs, the ledger is first
 * checked against the chain (rollback protection). Returns the spend entry, if any: the job
 * must not read data before the host shows the entry's head on chain (confirm_ledger).
 */
export async function consume(
  jobId: string,
  checked: CheckedJob,
  charges: BudgetCharge[],
  ctx: JobContext,
  progress: Progress,
): Promise<SignedLedgerEntry | undefined> {
  const spends = charges.length > 0 || checked.runs.length > 0;
  if (spends) {
    progress(0, 'checking the privacy budget ledger against the chain');
    await ctx.ledger.ensureFresh();
  }
  // From here to the end nothing awaits: no other job can take the same budget, run or request.
  const reservation = spends ? ctx.ledger.reserve(charges, checked.runs) : undefined;
  const request = jobRequestHash(checked.request);
  try {
    ctx.ledger.useRequest(request, checked.request.createdAt, JOB_REQUEST_MAX_AGE_MS);
  } catch (e) {
    if (reservation) ctx.ledger.release(reservation);
    throw e;
  }
  return reservation ? ctx.ledger.commit(reservation, jobId, request) : undefined;
}

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
    !(await storedWhole(job, ctx, limited))
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
    return runPipeline(limited, byName, {
      onProgress: (f, message) => progress(0.5 + 0.4 * f, message),
      memoryLimit: duckdbMemory(ctx.limits.memoryBytes),
      warmCacheBytes: warmCacheBytes(ctx.limits),
      ...extra,
    });
  });
  return { opened, outputs };
}

/** Whether a job that would stream its one input reads it whole from its store instead (store/open.ts storeFitsMemory). */
async function storedWhole(job: JobSpec, ctx: JobContext, limited: PipelineDocument): Promise<boolean> {
  const input = job.inputs[0] as JobSpec['inputs'][number];
  const columns =
    checkPipeline(limited, { [input.name]: input.manifest.manifest.schema }).inputs[0]?.columnsRead ?? [];
  return storeFitsMemory(input, ctx, columns, ctx.limits.memoryBytes, warmCacheBytes(ctx.limits));
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
