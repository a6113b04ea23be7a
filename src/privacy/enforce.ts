/**
 * Enforcing the owners' dataset policies on a checked pipeline, the same code on the host
 * (on submission, so a bad job is refused before it is queued) and inside the enclave
 * (after the manifests' signatures verify, before any row is read: the host is untrusted).
 *
 * Column uses are derived from the pipeline document, conservatively, by tracing every
 * column of every step back to the input columns it is computed from (lineage):
 *  - grouped by: the input columns behind an aggregate's `group_by` columns;
 *  - aggregated: the input columns behind a measure's column (`count: "*"` reads none);
 *  - joined on: the input columns behind a join's `on` keys (both sides);
 *  - output: the input columns behind a released output's group keys, and behind its
 *    min / max / quantile measures (they release a value of one row).
 * A derived column traces back to every column its expression reads; a measure's result
 * to its measured column; a join key to the key columns of both sides. Only steps the
 * outputs depend on count. Filters are not a restricted use in this version.
 * With several inputs the strictest rule applies: every input's rules must pass, and
 * each output's min_group_size is the largest of the pipeline's and every input policy's.
 */
import { ObscuraError } from '../common/errors.ts';
import type { Manifest } from '../crypto/manifest.ts';
import { columnsOf } from '../pipelines/expr/ast.ts';
import { parseExpression } from '../pipelines/expr/parse.ts';
import type { PipelinePlan } from '../pipelines/check.ts';
import type { PipelineDocument } from '../pipelines/schema.ts';
import type { DatasetPolicy } from './policy.ts';

/** A restricted use of an input column. */
export type ColumnUse = 'group_by' | 'aggregate' | 'join_on' | 'output';

const USE_WORDS: Record<ColumnUse, string> = { group_by: 'grouped by', aggregate: 'aggregated', join_on: 'joined on', output: 'output' };

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
  /** The pipeline document the plan was checked from (column uses are derived from its steps). */
  doc: PipelineDocument;
  /** Inputs (by name) whose owner's signed approval of this pipeline the caller has verified. */
  approved?: ReadonlySet<string>;
}

type Origins = Map<string, Set<string>>; // input name → columns
type Lineage = Map<string, Origins>; // column name → its input origins

function merge(into: Origins, from: Origins | undefined): Origins {
  for (const [input, cols] of from ?? []) {
    const s = into.get(input) ?? new Set<string>();
    for (const c of cols) s.add(c);
    into.set(input, s);
  }
  return into;
}

function lookup(rel: Lineage | undefined, column: string): Origins | undefined {
  if (!rel) return undefined;
  return rel.get(column) ?? [...rel.entries()].find(([k]) => k.toLowerCase() === column.toLowerCase())?.[1];
}

/** Which columns of each input the pipeline groups by, aggregates, joins on and outputs. */
export function columnUses(plan: PipelinePlan, doc: PipelineDocument): ColumnUses {
  const uses: ColumnUses = {};
  const rels = new Map<string, Lineage>();
  for (const [name, input] of Object.entries(doc.inputs)) {
    uses[name] = { group_by: [], aggregate: [], join_on: [], output: [] };
    rels.set(name, new Map(Object.keys(input.columns).map((c) => [c, new Map([[name, new Set([c])]])])));
  }
  const live = new Set(plan.steps.map((s) => s.id));
  const outputs = new Set(plan.outputs.map((o) => o.step));
  const record = (use: ColumnUse, origins: Origins | undefined) => {
    for (const [input, cols] of origins ?? []) {
      const list = uses[input]?.[use];
      if (list) for (const c of cols) if (!list.includes(c)) list.push(c);
    }
  };
  const all = (rel: Lineage | undefined): Origins => {
    const o: Origins = new Map();
    for (const v of rel?.values() ?? []) merge(o, v);
    return o;
  };
  for (const step of doc.steps) {
    const counts = live.has(step.id);
    const out: Lineage = new Map();
    if (step.filter) {
      for (const [k, v] of rels.get(step.filter.from) ?? []) out.set(k, v);
    } else if (step.derive) {
      const src = rels.get(step.derive.from);
      for (const [k, v] of src ?? []) out.set(k, v);
      for (const [name, expr] of Object.entries(step.derive.columns)) {
        let read: string[];
        try {
          read = columnsOf(parseExpression(expr));
        } catch {
          // Unparseable here means the checker refuses it anyway; be conservative meanwhile.
          out.set(name, all(src));
          continue;
        }
        const o: Origins = new Map();
        for (const c of read) merge(o, lookup(src, c));
        out.set(name, o);
      }
    } else if (step.join) {
      const { left, right, on } = step.join;
      const l = rels.get(left);
      const r = rels.get(right);
      const keys = new Set(on.map((k) => k.toLowerCase()));
      for (const k of on) {
        const o = merge(merge(new Map(), lookup(l, k)), lookup(r, k));
        if (counts) record('join_on', o);
        out.set(k, o);
      }
      const lNames = new Set([...(l?.keys() ?? [])].map((c) => c.toLowerCase()));
      const rNames = new Set([...(r?.keys() ?? [])].map((c) => c.toLowerCase()));
      const self = left === right;
      const sides: [Lineage | undefined, Set<string>, string][] = [
        [l, rNames, self ? 'left' : left],
        [r, lNames, self ? 'right' : right],
      ];
      for (const [side, other, prefix] of sides) {
        for (const [c, o] of side ?? []) {
          if (keys.has(c.toLowerCase())) continue;
          out.set(other.has(c.toLowerCase()) ? `${prefix}_${c}` : c, o);
        }
      }
    } else if (step.aggregate) {
      const src = rels.get(step.aggregate.from);
      for (const g of step.aggregate.group_by ?? []) {
        const o = lookup(src, g);
        if (counts) record('group_by', o);
        if (counts && outputs.has(step.id)) record('output', o);
        out.set(g, o ?? new Map());
      }
      for (const [name, m] of Object.entries(step.aggregate.measures)) {
        const measured = Object.entries(m).find(([k, v]) => typeof v === 'string' && !['q', 'bins', 'bounds'].includes(k));
        const col = measured && measured[1] !== '*' ? (measured[1] as string) : undefined;
        const o: Origins = col ? merge(new Map(), lookup(src, col)) : new Map();
        if (counts) record('aggregate', o);
        if (counts && outputs.has(step.id) && measured && ['min', 'max', 'quantile'].includes(measured[0])) record('output', o);
        out.set(name, o);
      }
    } else if (step.train) {
      // A model learns from its features and label (aggregated); released weights and a
      // string feature's vocabulary also carry values of them (output).
      const src = rels.get(step.train.from);
      for (const c of [...step.train.features, step.train.label]) {
        const o = merge(new Map(), lookup(src, c));
        if (counts) record('aggregate', o);
        if (counts && outputs.has(step.id)) record('output', o);
        out.set(c, o);
      }
    } else if (step.evaluate) {
      const src = rels.get(step.evaluate.from);
      for (const [c] of rels.get(step.evaluate.model) ?? []) {
        const o = merge(new Map(), lookup(src, c));
        if (counts) record('aggregate', o);
        out.set(c, o);
      }
    }
    rels.set(step.id, out);
  }
  return uses;
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
      throw new ObscuraError('policy_dp_required', `the policy of ${what} requires differential privacy on every output, and output ${out.step} has no dp`, 403, {
        ...details,
        rule: 'dp.required',
        output: out.step,
      });
    }
    epsilon += spec?.epsilon ?? 0;
  }
  if (dp.max_epsilon_per_job !== undefined && epsilon > dp.max_epsilon_per_job) {
    throw new ObscuraError('policy_dp_per_job_exceeded', `the policy of ${what} allows at most epsilon ${dp.max_epsilon_per_job} per job; this job spends ${epsilon}`, 403, {
      ...details,
      rule: 'dp.max_epsilon_per_job',
      epsilon,
    });
  }
}

function policyOf(manifest: Manifest): DatasetPolicy | undefined {
  return manifest.policy;
}

/**
 * Check every input's dataset policy against the job and return the effective limits.
 * Throws ObscuraError 403 with a stable code naming the input and the rule:
 * policy_analyst_not_allowed, policy_pipeline_not_allowed, policy_approval_required,
 * policy_column_not_allowed, policy_expired, policy_dp_required.
 */
export function enforcePolicies(plan: PipelinePlan, inputs: { name: string; manifest: Manifest }[], ctx: EnforceContext): EffectiveLimits {
  let uses: ColumnUses | undefined;
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
        throw new ObscuraError('policy_expired', `the policy of ${what} expired at ${policy.expires}`, 403, { ...details, rule: 'expires' });
      }
      if (expires === undefined || Date.parse(policy.expires) < Date.parse(expires)) expires = policy.expires;
    }
    if (policy.analysts && !policy.analysts.includes('*') && !policy.analysts.includes(ctx.analyst)) {
      throw new ObscuraError('policy_analyst_not_allowed', `the policy of ${what} does not allow analyst ${ctx.analyst}`, 403, { ...details, rule: 'analysts' });
    }
    const pipelines = policy.pipelines ?? 'any';
    if (pipelines === 'approval' && !ctx.approved?.has(name)) {
      throw new ObscuraError('policy_approval_required', `the policy of ${what} requires its owner ${manifest.owner} to approve pipeline ${ctx.pipelineHash}`, 403, {
        ...details,
        rule: 'pipelines',
        pipeline: ctx.pipelineHash,
        owner: manifest.owner,
      });
    }
    if (Array.isArray(pipelines) && !pipelines.includes(ctx.pipelineHash)) {
      throw new ObscuraError('policy_pipeline_not_allowed', `the policy of ${what} does not allow pipeline ${ctx.pipelineHash}`, 403, {
        ...details,
        rule: 'pipelines',
        pipeline: ctx.pipelineHash,
      });
    }
    if (policy.dp) checkDp(plan, ctx.doc, name, policy.dp, what, details);
    if (policy.columns) {
      uses ??= columnUses(plan, ctx.doc);
      const used = uses[name] ?? { group_by: [], aggregate: [], join_on: [], output: [] };
      const never = new Set((policy.columns.never_output ?? []).map((c) => c.toLowerCase()));
      for (const use of ['group_by', 'aggregate', 'join_on', 'output'] as const) {
        const allowed = use === 'output' ? undefined : policy.columns[use];
        for (const column of used[use]) {
          const refused = use === 'output' ? never.has(column.toLowerCase()) : allowed !== undefined && !allowed.includes(column);
          if (refused) {
            const rule = use === 'output' ? 'columns.never_output' : `columns.${use}`;
            throw new ObscuraError('policy_column_not_allowed', `the policy of ${what} does not allow column ${column} to be ${USE_WORDS[use]}`, 403, {
              ...details,
              rule,
              column,
              use,
            });
          }
        }
      }
    }
    if (policy.min_group_size !== undefined) minGroupSize = Math.max(minGroupSize, policy.min_group_size);
    if (policy.models?.release === 'metrics') modelsRelease = 'metrics';
  }
  if (modelsRelease === 'metrics') {
    for (const [step, out] of Object.entries(ctx.doc.outputs)) {
      if (out.release !== 'weights') continue;
      const input = inputs.find(({ manifest }) => manifest.policy?.models?.release === 'metrics') as { name: string; manifest: Manifest };
      throw new ObscuraError(
        'policy_model_release',
        `output ${step} asks for the model's weights, but the policy of dataset ${input.manifest.name} (input ${input.name}) releases metrics only`,
        403,
        { input: input.name, dataset: input.manifest.name, rule: 'models.release', output: step },
      );
    }
  }
  const outputs = Object.fromEntries(plan.outputs.map((o) => [o.step, Math.max(o.minGroupSize, minGroupSize)]));
  return { outputs, minGroupSize, modelsRelease, ...(expires !== undefined ? { expires } : {}) };
}

/** The document with each output's min_group_size raised to the effective one. */
export function applyLimits(doc: PipelineDocument, limits: EffectiveLimits): PipelineDocument {
  const outputs = Object.fromEntries(
    Object.entries(doc.outputs).map(([step, out]) => [step, { ...out, min_group_size: Math.max(out.min_group_size ?? 1, limits.outputs[step] ?? 1) }]),
  );
  return { ...doc, outputs };
}
