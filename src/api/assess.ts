/**
 * Assessing a job on the host without touching data: the pipeline against the inputs'
 * schemas, who may use each dataset, each owner's (latest) policy, the approvals it still
 * needs, the worker, and the privacy cost it would spend. Submission refuses on the first
 * failed check (except missing approvals, which make the job wait); a dry run reports every
 * check. The enclave repeats the checks that matter before it decrypts anything.
 */
import { isObscuraError, ObscuraError } from '../common/errors.ts';
import type { Manifest } from '../crypto/manifest.ts';
import { checkPipeline, type PipelineDocument, type PipelinePlan } from '../pipelines/index.ts';
import { type ColumnUses, columnUses, enforcePolicies, privacyCost, withPolicyUpdate } from '../privacy/index.ts';
import type { DatasetRecord } from '../store/index.ts';
import type { HostContext } from './context.ts';
import type { JobCheck, JobPreview } from './schemas.ts';

/** Everything the host knows about a job before it runs. */
export interface JobAssessment {
  preview: JobPreview;
  datasets: Record<string, DatasetRecord>;
  /** The first failed check's error (approvals aside), if any. */
  refusal?: ObscuraError;
  /** Inputs still waiting for their owner's approval. */
  awaiting: string[];
  worker?: string;
}

/**
 * Add the budget check to an assessment: each input's remaining budget, as its worker's
 * enclave counts it, against the job's cost. Only a job that spends budget asks.
 */
export async function assessBudget(ctx: HostContext, a: JobAssessment): Promise<JobAssessment> {
  const { cost } = a.preview;
  if (cost.epsilon === 0 && cost.delta === 0) {
    a.preview.checks.push({ check: 'budget', ok: true, detail: 'the job spends no privacy budget' });
    return a;
  }
  const short: string[] = [];
  for (const [name, d] of Object.entries(a.datasets)) {
    const update = ctx.privacy.latestPolicyUpdate(d.id);
    const view = await ctx.workers.get(d.worker).request('budget', { datasetId: d.id, manifest: d.manifest, ...(update ? { policyUpdate: update } : {}) });
    for (const kind of ['epsilon', 'delta'] as const) {
      const left = view[kind].remaining;
      if (left !== null && cost[kind] > left) short.push(`dataset ${d.id} (input ${name}) has ${left} ${kind} left, the job needs ${cost[kind]}`);
    }
  }
  const ok = short.length === 0;
  a.preview.checks.push({ check: 'budget', ok, detail: ok ? 'every input has the privacy budget the job spends' : short.join('; '), ...(ok ? {} : { code: 'budget_exhausted' }) });
  a.preview.ok &&= ok;
  if (!ok) a.refusal ??= new ObscuraError('budget_exhausted', short.join('; '), 403);
  return a;
}

/** The manifest with the dataset's latest policy update applied, and whether it is revoked. */
export function effectiveManifest(ctx: HostContext, d: DatasetRecord): { manifest: Manifest; revoked: boolean } {
  const update = ctx.privacy.latestPolicyUpdate(d.id)?.update;
  return { manifest: withPolicyUpdate(d.manifest.manifest, update), revoked: update?.revoked === true };
}

/**
 * Assess `doc` (hash `hash`) over the datasets bound to its inputs, for `analyst`. Throws
 * only for a missing dataset (404); every other problem is a failed check in the result.
 */
export function assessJob(
  ctx: HostContext,
  args: { analyst: string; doc: PipelineDocument; hash: string; inputs: Record<string, string>; purpose?: string },
): JobAssessment {
  const { analyst, doc, hash } = args;
  const datasets: Record<string, DatasetRecord> = {};
  for (const [name, id] of Object.entries(args.inputs)) {
    if (!ctx.metadata.hasDataset(id)) throw new ObscuraError('dataset_not_found', `input ${name} names dataset ${id}, which does not exist`, 404, { input: name });
    datasets[name] = ctx.metadata.dataset(id);
  }
  const checks: JobCheck[] = [];
  let refusal: ObscuraError | undefined;
  const check = <T>(name: string, pass: string, fn: () => T): T | undefined => {
    try {
      const value = fn();
      checks.push({ check: name, ok: true, detail: pass });
      return value;
    } catch (e) {
      if (!isObscuraError(e)) throw e;
      checks.push({ check: name, ok: false, code: e.code, detail: e.message });
      refusal ??= e;
      return undefined;
    }
  };

  const plan: PipelinePlan | undefined = check('pipeline', 'the pipeline checks against the inputs\' schemas', () =>
    checkPipeline(doc, Object.fromEntries(Object.entries(datasets).map(([n, d]) => [n, d.schema]))),
  );
  const effective = Object.fromEntries(Object.entries(datasets).map(([n, d]) => [n, effectiveManifest(ctx, d)]));
  check('revocation', 'no input is revoked', () => {
    for (const [name, e] of Object.entries(effective)) {
      if (e.revoked) throw new ObscuraError('dataset_revoked', `the owner of dataset ${(datasets[name] as DatasetRecord).id} (input ${name}) revoked it`, 403, { input: name });
    }
  });
  check('analysts', `analyst ${analyst} may use every input`, () => {
    for (const [name, d] of Object.entries(datasets)) {
      if (!d.analysts.includes('*') && !d.analysts.includes(analyst)) {
        throw new ObscuraError('analyst_not_allowed', `analyst ${analyst} is not allowed to use dataset ${d.id} (input ${name})`, 403, { input: name });
      }
    }
  });
  const approvalsNeeded = Object.entries(effective)
    .filter(([, e]) => e.manifest.policy?.pipelines === 'approval')
    .map(([name]) => name);
  const approved = new Set(approvalsNeeded.filter((name) => ctx.privacy.approval((datasets[name] as DatasetRecord).id, hash) !== undefined));
  let uses: ColumnUses | undefined;
  if (plan) {
    const policyInputs = Object.entries(effective).map(([name, e]) => ({ name, manifest: e.manifest }));
    // Approvals are reported on their own below, so the policy check here assumes them given.
    check('policies', "every owner's dataset policy allows the job", () =>
      enforcePolicies(plan, policyInputs, { analyst, pipelineHash: hash, now: new Date(), doc, approved: new Set(approvalsNeeded) }),
    );
    uses = columnUses(plan, doc);
  }
  const awaiting = approvalsNeeded.filter((n) => !approved.has(n));
  checks.push({
    check: 'approvals',
    ok: awaiting.length === 0,
    detail: approvalsNeeded.length === 0 ? 'no input needs an approval' : awaiting.length === 0 ? 'every owner that must approve has approved' : `waiting for the owners of ${awaiting.join(', ')}`,
    ...(awaiting.length ? { code: 'policy_approval_required' } : {}),
  });
  const worker = check('worker', 'every input is sealed to one worker whose measurement its owner accepts', () => {
    const workers = new Set(Object.values(datasets).map((d) => d.worker));
    if (workers.size !== 1) throw new ObscuraError('inputs_on_different_workers', 'all inputs of a job must be sealed to the same worker (federation comes later)', 400);
    const id = [...workers][0] as string;
    const enclave = ctx.workers.get(id);
    for (const [name, d] of Object.entries(datasets)) {
      if (!d.manifest.manifest.measurements.includes(enclave.info.measurement)) {
        throw new ObscuraError('measurement_not_accepted', `the owner of dataset ${d.id} (input ${name}) does not accept worker ${id}'s measurement`, 403, { input: name });
      }
    }
    return id;
  });
  const { epsilon, delta } = privacyCost(doc);
  const cost = { epsilon, delta };
  const preview: JobPreview = {
    analyst,
    ...(args.purpose ? { purpose: args.purpose } : {}),
    pipeline: { hash, name: doc.name, document: doc },
    inputs: Object.entries(datasets).map(([name, d]) => ({
      name,
      dataset: d.id,
      datasetName: d.name,
      owner: d.owner,
      columnsRead: plan?.inputs.find((i) => i.name === name)?.columnsRead ?? [],
      uses: uses?.[name] ?? { group_by: [], aggregate: [], join_on: [], output: [] },
      approval: !approvalsNeeded.includes(name) ? 'not_needed' : approved.has(name) ? 'approved' : 'pending',
      cost,
    })),
    outputs: plan ? plan.outputs.map((o) => ({ step: o.step, columns: o.columns.map((c) => c.name), minGroupSize: o.minGroupSize })) : [],
    cost,
    checks,
    ok: checks.every((c) => c.ok),
  };
  return { preview, datasets, ...(refusal ? { refusal } : {}), awaiting, ...(worker ? { worker } : {}) };
}
