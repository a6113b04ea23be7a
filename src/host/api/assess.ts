/**
 * Assessing a job on the host without touching data: the pipeline against the inputs'
 * schemas, who may use each dataset, each owner's (latest) policy, the approvals it still
 * needs, the worker, and the privacy cost it would spend. Submission refuses on the first
 * failed check (except missing approvals, which make the job wait); a dry run reports every
 * check. The enclave repeats the checks that matter before it decrypts anything.
 */
import { isObscuraError, ObscuraError } from '../../common/errors.ts';
import type { Manifest } from '../../crypto/manifest.ts';
import { checkPipeline, type PipelineDocument, type PipelinePlan } from '../../pipelines/index.ts';
import { emptyUses } from '../../pipelines/lineage.ts';
import {
  type ColumnUses,
  columnUses,
  enforcePolicies,
  privacyCost,
  purposeHash,
  withPolicyUpdate,
} from '../../privacy/index.ts';
import type { DatasetRecord } from '../store/index.ts';
import type { HostContext } from './context.ts';
import type { JobCheck, JobPreview } from '../../contracts/api-schemas.ts';

/** Everything the host knows about a job before it runs. */
export interface JobAssessment {
  preview: JobPreview;
  datasets: Record<string, DatasetRecord>;
  /** The first failed check's error (approvals aside), if any. */
  refusal?: ObscuraError;
  /** Inputs still waiting for their owner's approval. */
  awaiting: string[];
  /** Every dataset bound, with its input (several per input for a federated job). */
  bindings: { name: string; dataset: DatasetRecord }[];
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
  for (const { name, dataset: d } of a.bindings) {
    const update = ctx.privacy.latestPolicyUpdate(d.id);
    const view = await ctx.workers.get(d.worker).request('budget', {
      datasetId: d.id,
      manifest: d.manifest,
      ...(update ? { policyUpdate: update } : {}),
    });
    const charged = a.preview.inputs.find((i) => i.dataset === d.id && i.name === name)?.cost ?? cost;
    for (const kind of ['epsilon', 'delta'] as const) {
      const left = view[kind].remaining;
      if (left !== null && charged[kind] > left)
        short.push(
          `dataset ${d.id} (input ${name}) has ${left} ${kind} left, the job needs ${charged[kind]}`,
        );
    }
  }
  const ok = short.length === 0;
  a.preview.checks.push({
    check: 'budget',
    ok,
    detail: ok ? 'every input has the privacy budget the job spends' : short.join('; '),
    ...(ok ? {} : { code: 'budget_exhausted' }),
  });
  a.preview.ok &&= ok;
  if (!ok) a.refusal ??= new ObscuraError('budget_exhausted', short.join('; '), 403);
  return a;
}

/** The manifest with the dataset's latest policy update applied, and whether it is revoked. */
export function effectiveManifest(
  ctx: HostContext,
  d: DatasetRecord,
): { manifest: Manifest; revoked: boolean } {
  const update = ctx.privacy.latestPolicyUpdate(d.id)?.update;
  return { manifest: withPolicyUpdate(d.manifest.manifest, update), revoked: update?.revoked === true };
}

/** One dataset bound to an input (a federated input has several). */
interface Binding {
  name: string;
  dataset: DatasetRecord;
}

/**
 * Assess `doc` (hash `hash`) over the datasets bound to its inputs, for `analyst`. An input
 * bound to a list of datasets on different workers makes a federated job (train outputs
 * only). Throws only for a missing dataset (404); every other problem is a failed check.
 */
export function assessJob(
  ctx: HostContext,
  args: {
    analyst: string;
    doc: PipelineDocument;
    hash: string;
    inputs: Record<string, string | string[]>;
    purpose?: string;
  },
): JobAssessment {
  const { analyst, doc, hash } = args;
  const bindings: Binding[] = [];
  for (const [name, ids] of Object.entries(args.inputs)) {
    for (const id of Array.isArray(ids) ? ids : [ids]) {
      if (!ctx.metadata.hasDataset(id))
        throw new ObscuraError(
          'dataset_not_found',
          `input ${name} names dataset ${id}, which does not exist`,
          404,
          { input: name },
        );
      bindings.push({ name, dataset: ctx.metadata.dataset(id) });
    }
  }
  const federated = Object.values(args.inputs).some(Array.isArray);
  const datasets: Record<string, DatasetRecord> = {};
  for (const b of bindings) datasets[b.name] ??= b.dataset;
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
  const label = (b: Binding) => `dataset ${b.dataset.id} (input ${b.name})`;

  let plan: PipelinePlan | undefined;
  check('pipeline', "the pipeline checks against the inputs' schemas", () => {
    // Every partition of a federated input must fit the pipeline on its own.
    const groups = federated ? bindings.map((b) => [b]) : [bindings];
    for (const group of groups) {
      const schemas = Object.fromEntries(
        Object.entries(datasets).map(([n, d]) => [n, (group.find((b) => b.name === n)?.dataset ?? d).schema]),
      );
      plan = checkPipeline(doc, schemas);
    }
    if (federated) checkFederated(doc, args.inputs);
  });
  const effective = bindings.map((b) => ({ ...b, ...effectiveManifest(ctx, b.dataset) }));
  check('revocation', 'no input is revoked', () => {
    for (const e of effective)
      if (e.revoked)
        throw new ObscuraError('dataset_revoked', `the owner of ${label(e)} revoked it`, 403, {
          input: e.name,
        });
  });
  check('analysts', `analyst ${analyst} may use every input`, () => {
    for (const b of bindings) {
      const a = b.dataset.analysts;
      if (!a.includes('*') && !a.includes(analyst))
        throw new ObscuraError(
          'analyst_not_allowed',
          `analyst ${analyst} is not allowed to use ${label(b)}`,
          403,
          { input: b.name },
        );
    }
  });
  const needsApproval = effective.filter((e) => e.manifest.policy?.pipelines === 'approval');
  const purpose = purposeHash(args.purpose ?? '');
  const approvedIds = new Set(
    needsApproval
      .filter((e) => ctx.privacy.approvalFor(e.dataset.id, hash, analyst, purpose) !== undefined)
      .map((e) => e.dataset.id),
  );
  let uses: ColumnUses | undefined;
  if (plan) {
    const p = plan;
    // Approvals are reported on their own below, so the policy check here assumes them given.
    check('policies', "every owner's dataset policy allows the job", () => {
      const groups = federated ? effective.map((e) => [e]) : [effective];
      for (const group of groups) {
        enforcePolicies(
          p,
          group.map((e) => ({ name: e.name, manifest: e.manifest })),
          { analyst, pipelineHash: hash, now: new Date(), doc, approved: new Set(group.map((e) => e.name)) },
        );
      }
    });
    uses = columnUses(p);
  }
  const waiting = needsApproval.filter((e) => !approvedIds.has(e.dataset.id));
  const awaiting = [...new Set(waiting.map((e) => e.name))];
  checks.push({
    check: 'approvals',
    ok: waiting.length === 0,
    detail:
      needsApproval.length === 0
        ? 'no input needs an approval'
        : waiting.length === 0
          ? 'every owner that must approve has approved, for this analyst and purpose'
          : `waiting for the owners of ${awaiting.join(', ')} (an approval covers one analyst, purpose, expiry and number of runs)`,
    ...(waiting.length ? { code: 'policy_approval_required' } : {}),
  });
  const worker = check(
    'worker',
    federated
      ? 'each partition is on its own worker, whose measurement its owner accepts'
      : 'every input is sealed to one worker whose measurement its owner accepts',
    () => {
      const workers = bindings.map((b) => b.dataset.worker);
      // Training runs one session per worker; an aggregate takes each dataset as its own share.
      if (federated && !aggregateOnly(doc) && new Set(workers).size !== workers.length) {
        throw new ObscuraError(
          'federation_invalid',
          'the datasets of a federated input must each be sealed to a different worker',
          400,
        );
      }
      if (!federated && new Set(workers).size !== 1) {
        throw new ObscuraError(
          'inputs_on_different_workers',
          'all inputs of a job must be sealed to the same worker, unless one input is bound to a list of datasets (federated training)',
          400,
        );
      }
      for (const b of bindings) {
        const enclave = ctx.workers.get(b.dataset.worker);
        if (!b.dataset.manifest.manifest.measurements.includes(enclave.info.measurement)) {
          throw new ObscuraError(
            'measurement_not_accepted',
            `the owner of ${label(b)} does not accept worker ${b.dataset.worker}'s measurement`,
            403,
            { input: b.name },
          );
        }
      }
      return workers[0] as string;
    },
  );
  const priced = privacyCost(doc, plan);
  const cost = { epsilon: priced.epsilon, delta: priced.delta };
  const preview: JobPreview = {
    analyst,
    ...(args.purpose ? { purpose: args.purpose } : {}),
    pipeline: { hash, name: doc.name, document: doc },
    inputs: bindings.map((b) => ({
      name: b.name,
      dataset: b.dataset.id,
      datasetName: b.dataset.name,
      owner: b.dataset.owner,
      columnsRead: plan?.inputs.find((i) => i.name === b.name)?.columnsRead ?? [],
      uses: uses?.[b.name] ?? emptyUses(),
      approval: !needsApproval.some((e) => e.dataset.id === b.dataset.id)
        ? 'not_needed'
        : approvedIds.has(b.dataset.id)
          ? 'approved'
          : 'pending',
      cost: priced.inputs[b.name] ?? cost,
    })),
    outputs: plan
      ? plan.outputs.map((o) => ({
          step: o.step,
          columns: o.columns.map((c) => c.name),
          minGroupSize: o.minGroupSize,
        }))
      : [],
    cost,
    checks,
    warnings: [
      ...(plan ? differencingWarnings(plan, doc, effective) : []),
      ...visibilityWarnings(doc, effective),
    ],
    ok: checks.every((c) => c.ok),
  };
  return {
    preview,
    datasets,
    bindings,
    ...(refusal ? { refusal } : {}),
    awaiting,
    ...(worker ? { worker } : {}),
  };
}

/** Whether every output of `doc` is an aggregate (not a train step). */
function aggregateOnly(doc: PipelineDocument): boolean {
  return Object.keys(doc.outputs).every((o) => !doc.steps.find((s) => s.id === o)?.train);
}

/** A federated job: one input, bound to two or more datasets; aggregate outputs only, or one train output. */
function checkFederated(doc: PipelineDocument, inputs: Record<string, string | string[]>): void {
  if (Object.keys(inputs).length !== 1) {
    throw new ObscuraError(
      'federation_invalid',
      'a federated job has exactly one input, bound to the list of its partitions',
      400,
    );
  }
  const outputs = Object.keys(doc.outputs);
  const train = outputs.filter((o) => doc.steps.find((s) => s.id === o)?.train);
  // A federated aggregate: each dataset's partials, merged before min_group_size and DP.
  if (train.length === 0) return;
  if (train.some((o) => doc.outputs[o]?.dp)) {
    throw new ObscuraError(
      'federation_invalid',
      'DP-SGD is not available for federated training in this release',
      400,
    );
  }
  if (outputs.length !== 1 || train.length !== 1) {
    throw new ObscuraError(
      'federation_invalid',
      'a federated job releases either aggregates only, or exactly one output, a train step',
      400,
    );
  }
}

/**
 * A warning for each input whose policy keeps results private when the pipeline asks for
 * `visibility: public`: the job runs, and only its analyst and its inputs' owners read it
 * (src/host/api/access.ts decides at each read, from the policy in force).
 */
function visibilityWarnings(
  doc: PipelineDocument,
  effective: { name: string; dataset: DatasetRecord; manifest: Manifest }[],
): JobPreview['warnings'] {
  if (doc.visibility !== 'public') return [];
  const seen = new Set<string>();
  return effective
    .filter(
      (e) => e.manifest.policy?.results !== 'public' && !seen.has(e.dataset.id) && seen.add(e.dataset.id),
    )
    .map((e) => ({
      code: 'results_stay_private',
      input: e.name,
      detail: `the pipeline asks for visibility: public, but the policy of dataset ${e.dataset.id} (input ${e.name}) does not say results: public, so only the analyst and the inputs' owners will read this job and its result`,
    }));
}

/**
 * A warning for each input that a job's exact (non-DP) output is computed over while its
 * policy neither requires DP nor forbids filters: two such jobs whose filters differ by one
 * row give, subtracted, that row's values. min_group_size cannot stop it; dp.required, or
 * a narrow columns.filter, can.
 */
function differencingWarnings(
  plan: PipelinePlan,
  doc: PipelineDocument,
  effective: { name: string; dataset: DatasetRecord; manifest: Manifest }[],
): JobPreview['warnings'] {
  const warnings: JobPreview['warnings'] = [];
  const seen = new Set<string>();
  for (const e of effective) {
    if (seen.has(e.name)) continue;
    seen.add(e.name);
    const exact = plan.outputs
      .filter((o) => o.inputs.includes(e.name) && !doc.outputs[o.step]?.dp)
      .map((o) => o.step);
    const policy = e.manifest.policy;
    if (exact.length === 0 || policy?.dp?.required === true) continue;
    const never = new Set((policy?.columns?.never_output ?? []).map((c) => c.toLowerCase()));
    const filterable =
      policy?.columns?.filter ??
      e.manifest.schema.map((c) => c.name).filter((c) => !never.has(c.toLowerCase()));
    if (filterable.length === 0) continue;
    warnings.push({
      code: 'differencing_possible',
      input: e.name,
      detail:
        `dataset ${e.dataset.id} (input ${e.name}) has no differential privacy on output ${exact.join(', ')} and allows filters on ${filterable.join(', ')}: ` +
        'two jobs whose filters differ by one row can be subtracted to learn that row (min_group_size does not prevent it); ' +
        'its owner can set dp: { required: true } or narrow columns.filter',
    });
  }
  return warnings;
}
