/**
 * Enforcing the owners' dataset policies on a checked pipeline, the same code on the host
 * (on submission, so a bad job is refused before it is queued) and inside the enclave
 * (after the manifests' signatures verify, before any row is read: the host is untrusted).
 *
 * Everything here reads the plan's lineage (../pipelines/lineage.ts), which each step's
 * compiler states: which input columns the steps the outputs depend on use, and how, and
 * which inputs' rows are behind each output, whatever its kind (a model's too). So:
 *  - columns.filter (default: every column but never_output ones) lists the columns that
 *    may appear in filters and derives; a never_output column may never be filtered on,
 *    derived from or output (group keys, min/max/quantile, histogram cells, a model's
 *    weights); group_by, join_on and aggregate list the columns allowed for those uses (a
 *    model's features and label are aggregated by it);
 *  - dp.required holds for every output behind which are rows of the input, train and
 *    evaluate included, and max_epsilon_per_job sums the epsilon of all of them (DP-SGD's too);
 *  - max_histogram_bins (default 100) caps the cells of every released histogram over it.
 * With several inputs the strictest rule applies: every input's rules must pass, and
 * each output's min_group_size is the largest of the pipeline's and every input policy's.
 */
import { ObscuraError } from '../common/errors.ts';
import type { Manifest } from '../crypto/manifest.ts';
import type { PipelinePlan } from '../pipelines/check.ts';
import { usesByInput } from '../pipelines/lineage.ts';
import type { PipelineDocument } from '../pipelines/schema.ts';
import type { ColumnUse } from '../pipelines/steps/types.ts';
import type { DatasetPolicy } from './policy.ts';

export type { ColumnUse } from '../pipelines/steps/types.ts';

/** The most cells a released histogram may have over a dataset whose policy does not say. */
export const DEFAULT_MAX_HISTOGRAM_BINS = 100;

const USE_WORDS: Record<ColumnUse, string> = {
  filter: 'filtered on',
  derive: 'derived from',
  group_by: 'grouped by',
  join_on: 'joined on',
  aggregate: 'aggregated',
  feature: 'a model feature',
  label: 'a model label',
  output: 'output',
};

/** The policy list (under `columns`) that allows each use; output is ruled by never_output alone. */
const ALLOWED_BY: Record<ColumnUse, 'filter' | 'group_by' | 'join_on' | 'aggregate' | undefined> = {
  filter: 'filter',
  derive: 'filter',
  group_by: 'group_by',
  join_on: 'join_on',
  aggregate: 'aggregate',
  feature: 'aggregate',
  label: 'aggregate',
  output: undefined,
};

/** Uses a never_output column may not have: its values would leave, or pick out rows. */
const NEVER_OUTPUT_USES: ReadonlySet<ColumnUse> = new Set<ColumnUse>(['filter', 'derive', 'output']);

/** Input columns by use, per input name. */
export type ColumnUses = Record<string, Record<ColumnUse, string[]>>;

/** What the job runs under once every policy passed: the strictest of all inputs. */
export interface EffectiveLimits {
  /** min_group_size per output step: max of the pipeline's and every input policy's. */
  outputs: Record<string, number>;
  /** The largest min_group_size of any input policy (1 when none sets one). */
  minGroupSize: number;
  /** Model release: `metrics` if any input restricts to it. */
  modelsRelease: 'metrics' | 'weights';
  /** The earliest expiry of any input policy. */
  expires?: string;
}

/** Who runs what, and when, for enforcePolicies. */
export interface EnforceContext {
  analyst: string;
  pipelineHash: string;
  now: Date;
  /** The pipeline document the plan was checked from (its outputs' dp and release). */
  doc: PipelineDocument;
  /** Inputs (by name) whose owner's signed approval of this pipeline the caller has verified. */
  approved?: ReadonlySet<string>;
}

/** Which columns of each input the plan filters on, derives from, groups by, joins on, aggregates, trains on and outputs. */
export function columnUses(plan: PipelinePlan): ColumnUses {
  return usesByInput(
    plan.lineage,
    plan.inputs.map((i) => i.name),
  );
}

/** Throw policy_column_not_allowed for the first use of an input column its policy's `columns` refuse. */
function checkColumns(
  plan: PipelinePlan,
  input: string,
  columns: NonNullable<DatasetPolicy['columns']>,
  what: string,
  details: Record<string, unknown>,
): void {
  const never = new Set((columns.never_output ?? []).map((c) => c.toLowerCase()));
  for (const u of plan.lineage.uses) {
    if (u.input !== input) continue;
    const list = ALLOWED_BY[u.use];
    const isNever = NEVER_OUTPUT_USES.has(u.use) && never.has(u.column.toLowerCase());
    const allowed = list === undefined ? undefined : columns[list];
    if (!isNever && (allowed === undefined || allowed.includes(u.column))) continue;
    const rule = isNever ? 'columns.never_output' : `columns.${list}`;
    throw new ObscuraError(
      'policy_column_not_allowed',
      `the policy of ${what} does not allow column ${u.column} to be ${USE_WORDS[u.use]} (step ${u.step})`,
      403,
      {
        ...details,
        rule,
        column: u.column,
        use: u.use,
        step: u.step,
      },
    );
  }
}

/** Throw policy_histogram_bins_exceeded when a released histogram over the input has more cells than its policy allows. */
function checkCells(
  plan: PipelinePlan,
  input: string,
  policy: DatasetPolicy,
  what: string,
  details: Record<string, unknown>,
): void {
  const max = policy.max_histogram_bins ?? DEFAULT_MAX_HISTOGRAM_BINS;
  for (const out of plan.outputs) {
    if (!out.inputs.includes(input)) continue;
    const over = out.cells.find((c) => c.count > max);
    if (!over) continue;
    throw new ObscuraError(
      'policy_histogram_bins_exceeded',
      `the policy of ${what} allows histograms of at most ${max} bins; measure ${over.measure} of output ${out.step} has ${over.count}`,
      403,
      {
        ...details,
        rule: 'max_histogram_bins',
        output: out.step,
        measure: over.measure,
        bins: over.count,
        max,
      },
    );
  }
}

/**
 * The dp rules of one input's policy: with `required`, every output that depends on the
 * input adds DP noise; the epsilon of all outputs over the input stays within
 * `max_epsilon_per_job`. (The total budget is the enclave's ledger's to enforce.)
 */
function checkDp(
  plan: PipelinePlan,
  doc: PipelineDocument,
  input: string,
  dp: NonNullable<DatasetPolicy['dp']>,
  what: string,
  details: Record<string, unknown>,
): void {
  let epsilon = 0;
  for (const out of plan.outputs) {
    if (!out.inputs.includes(input)) continue;
    const spec = doc.outputs[out.step]?.dp;
    if (!spec && dp.required === true) {
      throw new ObscuraError(
        'policy_dp_required',
        `the policy of ${what} requires differential privacy on every output, and output ${out.step} has no dp`,
        403,
        {
          ...details,
          rule: 'dp.required',
          output: out.step,
        },
      );
    }
    epsilon += spec?.epsilon ?? 0;
  }
  if (dp.max_epsilon_per_job !== undefined && epsilon > dp.max_epsilon_per_job) {
    throw new ObscuraError(
      'policy_dp_per_job_exceeded',
      `the policy of ${what} allows at most epsilon ${dp.max_epsilon_per_job} per job; this job spends ${epsilon}`,
      403,
      {
        ...details,
        rule: 'dp.max_epsilon_per_job',
        epsilon,
      },
    );
  }
}

function policyOf(manifest: Manifest): DatasetPolicy | undefined {
  return manifest.policy;
}

/**
 * Check every input's dataset policy against the job and return the effective limits.
 * Throws ObscuraError 403 with a stable code naming the input and the rule:
 * policy_analyst_not_allowed, policy_pipeline_not_allowed, policy_approval_required,
 * policy_column_not_allowed, policy_histogram_bins_exceeded, policy_expired,
 * policy_dp_required, policy_dp_per_job_exceeded, policy_model_release.
 */
export function enforcePolicies(
  plan: PipelinePlan,
  inputs: { name: string; manifest: Manifest }[],
  ctx: EnforceContext,
): EffectiveLimits {
  let minGroupSize = 1;
  let modelsRelease: 'metrics' | 'weights' = 'weights';
  let expires: string | undefined;
  for (const { name, manifest } of inputs) {
    const policy = policyOf(manifest);
    if (!policy) continue;
    const details = { input: name, dataset: manifest.name };
    const what = `dataset ${manifest.name} (input ${name})`;
    if (policy.expires !== undefined) {
      if (ctx.now.getTime() >= Date.parse(policy.expires)) {
        throw new ObscuraError('policy_expired', `the policy of ${what} expired at ${policy.expires}`, 403, {
          ...details,
          rule: 'expires',
        });
      }
      if (expires === undefined || Date.parse(policy.expires) < Date.parse(expires)) expires = policy.expires;
    }
    if (policy.analysts && !policy.analysts.includes('*') && !policy.analysts.includes(ctx.analyst)) {
      throw new ObscuraError(
        'policy_analyst_not_allowed',
        `the policy of ${what} does not allow analyst ${ctx.analyst}`,
        403,
        { ...details, rule: 'analysts' },
      );
    }
    const pipelines = policy.pipelines ?? 'any';
    if (pipelines === 'approval' && !ctx.approved?.has(name)) {
      throw new ObscuraError(
        'policy_approval_required',
        `the policy of ${what} requires its owner ${manifest.owner} to approve pipeline ${ctx.pipelineHash}`,
        403,
        {
          ...details,
          rule: 'pipelines',
          pipeline: ctx.pipelineHash,
          owner: manifest.owner,
        },
      );
    }
    if (Array.isArray(pipelines) && !pipelines.includes(ctx.pipelineHash)) {
      throw new ObscuraError(
        'policy_pipeline_not_allowed',
        `the policy of ${what} does not allow pipeline ${ctx.pipelineHash}`,
        403,
        {
          ...details,
          rule: 'pipelines',
          pipeline: ctx.pipelineHash,
        },
      );
    }
    if (policy.dp) checkDp(plan, ctx.doc, name, policy.dp, what, details);
    if (policy.columns) checkColumns(plan, name, policy.columns, what, details);
    checkCells(plan, name, policy, what, details);
    if (policy.min_group_size !== undefined) minGroupSize = Math.max(minGroupSize, policy.min_group_size);
    if (policy.models?.release === 'metrics') modelsRelease = 'metrics';
  }
  if (modelsRelease === 'metrics') {
    for (const [step, out] of Object.entries(ctx.doc.outputs)) {
      if (out.release !== 'weights') continue;
      const input = inputs.find(({ manifest }) => manifest.policy?.models?.release === 'metrics') as {
        name: string;
        manifest: Manifest;
      };
      throw new ObscuraError(
        'policy_model_release',
        `output ${step} asks for the model's weights, but the policy of dataset ${input.manifest.name} (input ${input.name}) releases metrics only`,
        403,
        { input: input.name, dataset: input.manifest.name, rule: 'models.release', output: step },
      );
    }
  }
  const outputs = Object.fromEntries(
    plan.outputs.map((o) => [o.step, Math.max(o.minGroupSize, minGroupSize)]),
  );
  return { outputs, minGroupSize, modelsRelease, ...(expires !== undefined ? { expires } : {}) };
}

/** The document with each output's min_group_size raised to the effective one. */
export function applyLimits(doc: PipelineDocument, limits: EffectiveLimits): PipelineDocument {
  const outputs = Object.fromEntries(
    Object.entries(doc.outputs).map(([step, out]) => [
      step,
      { ...out, min_group_size: Math.max(out.min_group_size ?? 1, limits.outputs[step] ?? 1) },
    ]),
  );
  return { ...doc, outputs };
}
