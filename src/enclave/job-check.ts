/**
 * Checking a job inside the enclave before anything is decrypted, and consuming what it
 * spends: the analyst's signed request, the owners' signatures and later statements (policy
 * updates, revocations, approvals), who may run it and the inputs' policies against the plan
 * over the owner-signed schemas; then its request's single use, budget and approval runs,
 * committed to the sealed ledger at once. The host already checked most of this; the
 * enclave checks again because the host is untrusted.
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
import { checkPipeline, parsePipeline, pipelineHash, type PipelinePlan } from '../pipelines/index.ts';
import { type EffectiveLimits, enforcePolicies } from '../privacy/enforce.ts';
import { privacyCost } from '../privacy/cost.ts';
import type { PipelineDocument } from '../pipelines/schema.ts';
import type { SignedLedgerEntry } from '../contracts/ledger.ts';
import type { BudgetCharge, LedgerService, RunCharge } from './ledger-service.ts';
import { assertNotRevoked, assertNotStale, knownPolicy } from './policy-in-force.ts';
import type { OpenContext } from './datasets.ts';
import type { JobSpec } from '../contracts/enclave-protocol.ts';
import type { JobLimits } from '../pipelines/limits.ts';

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
