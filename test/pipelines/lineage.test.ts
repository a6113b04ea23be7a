/**
 * The one lineage: every registered step kind states what it reads, for which use, and
 * which rows and columns are behind its own; the plan resolves that to input columns
 * (uses) and to the inputs behind each output of every kind; a join key computed from no
 * column is refused, and a derived key records the join_on use of what it is computed from.
 */
import { describe, expect, it } from 'vitest';
import { isObscuraError } from '../../src/common/errors.ts';
import {
  checkPipeline,
  declaredSchemas,
  parsePipeline,
  type PipelinePlan,
} from '../../src/pipelines/index.ts';
import { usesByInput } from '../../src/pipelines/lineage.ts';
import { STEP_COMPILERS } from '../../src/pipelines/steps/registry.ts';
import type { Relation, StepContext } from '../../src/pipelines/steps/types.ts';
import { inputTracks } from '../../src/pipelines/steps/provenance.ts';
import type { Step, StepKind } from '../../src/pipelines/schema.ts';

const VISITS: Relation = {
  name: 'visits',
  columns: [
    { name: 'patient_id', type: 'string' },
    { name: 'region', type: 'string' },
    { name: 'age', type: 'int64' },
    { name: 'cost', type: 'float64' },
    { name: 'readmitted', type: 'bool' },
  ],
  aggregate: false,
  tracks: inputTracks('visits'),
};
const MODEL: Relation = {
  name: 'm',
  columns: [VISITS.columns[2], VISITS.columns[4]] as Relation['columns'],
  aggregate: false,
  tracks: inputTracks('visits'),
};

/** One step of each kind; a kind registered without a sample here fails the test below. */
const SAMPLES: Record<StepKind, Step> = {
  filter: { id: 's', filter: { from: 'visits', where: 'age > 18' } },
  derive: { id: 's', derive: { from: 'visits', columns: { band: 'floor(age / 10)' } } },
  join: { id: 's', join: { left: 'visits', right: 'visits', on: ['patient_id'] } },
  aggregate: {
    id: 's',
    aggregate: {
      from: 'visits',
      group_by: ['region'],
      measures: { n: { count: '*' }, h: { histogram: 'cost', bins: 4, bounds: [0, 4000] } },
    },
  },
  train: { id: 's', train: { from: 'visits', model: 'linear_regression', features: ['age'], label: 'cost' } },
  evaluate: { id: 's', evaluate: { model: 'm', from: 'visits' } },
} as unknown as Record<StepKind, Step>;

function parse(text: string) {
  const doc = parsePipeline(text);
  return { doc, plan: checkPipeline(doc, declaredSchemas(doc)) };
}

function refusal(fn: () => unknown): { code: string; message: string; details?: Record<string, unknown> } {
  try {
    fn();
  } catch (e) {
    if (isObscuraError(e))
      return { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) };
    throw e;
  }
  throw new Error('expected a refusal');
}

const INPUTS = `inputs:
  visits: { columns: { patient_id: string, region: string, age: int64, cost: float64, readmitted: bool } }
  labs: { columns: { patient_id: string, hba1c: float64 } }`;

const uses = (plan: PipelinePlan) =>
  usesByInput(
    plan.lineage,
    plan.inputs.map((i) => i.name),
  );

describe('every step kind states its lineage', () => {
  for (const [kind, compiler] of STEP_COMPILERS) {
    it(`${kind}: every output column, its uses and the rows behind it`, () => {
      const step = SAMPLES[kind];
      expect(
        step,
        `registered step kind ${kind} needs a sample here, and a lineage in its compiler`,
      ).toBeDefined();
      const relations = new Map([
        ['visits', VISITS],
        ['m', MODEL],
      ]);
      const ctx: StepContext = {
        step,
        id: 's',
        index: 0,
        path: `steps[0].${kind}`,
        relation: (ref) => relations.get(ref) as Relation,
      };
      const a = compiler.analyse(ctx);
      expect(a.lineage, `the ${kind} compiler states no lineage`).toBeDefined();
      expect([...a.lineage.columns.keys()].sort()).toEqual(a.columns.map((c) => c.name).sort());
      expect(a.lineage.rows.length).toBeGreaterThan(0);
      for (const u of a.lineage.uses) expect(a.sources).toContain(u.source);
    });
  }
});

describe('the plan lineage', () => {
  it('traces filters, derives, joins, group keys, measures and outputs to input columns', () => {
    const { plan } = parse(`obscura: 1
name: t
${INPUTS}
steps:
  - { id: adults, filter: { from: visits, where: "age >= 18 AND region <> 'x'" } }
  - { id: j, join: { left: adults, right: labs, on: [patient_id] } }
  - { id: d, derive: { from: j, columns: { high: "hba1c > 6.5", c2: "cost * 2" } } }
  - id: a
    aggregate: { from: d, group_by: [high], measures: { n: { count: "*" }, s: { sum: c2 }, q: { quantile: cost, q: 0.5 }, h: { histogram: age, bins: 5, bounds: [0, 100] } } }
outputs: { a: {} }
`);
    const u = uses(plan);
    expect(u['visits']).toMatchObject({
      filter: ['age', 'region'],
      derive: ['cost'],
      join_on: ['patient_id'],
      aggregate: ['cost', 'age'],
      output: ['cost', 'age'],
    });
    expect(u['labs']).toMatchObject({
      derive: ['hba1c'],
      group_by: ['hba1c'],
      join_on: ['patient_id'],
      output: ['hba1c'],
    });
    expect(plan.outputs[0]).toMatchObject({
      kind: 'aggregate',
      inputs: ['visits', 'labs'],
      cells: [{ measure: 'h', count: 5 }],
    });
  });

  it('gives train and evaluate outputs their inputs, features and labels (the trained rows behind the scores too)', () => {
    const { plan } = parse(`obscura: 1
name: t
${INPUTS}
steps:
  - { id: m, train: { from: visits, model: linear_regression, features: [age], label: cost } }
  - { id: other, derive: { from: labs, columns: { age: "hba1c * 10", cost: "hba1c" } } }
  - { id: e, evaluate: { model: m, from: other } }
outputs: { m: {}, e: {} }
`);
    expect(plan.outputs.map((o) => [o.step, o.kind, o.inputs])).toEqual([
      ['m', 'train', ['visits']],
      ['e', 'evaluate', ['labs', 'visits']],
    ]);
    const u = uses(plan);
    expect(u['visits']).toMatchObject({ feature: ['age'], label: ['cost'], output: ['age', 'cost'] });
    expect(u['labs']).toMatchObject({ derive: ['hba1c'], feature: ['hba1c'], label: ['hba1c'], output: [] });
  });

  it('counts only the steps the outputs depend on, and output uses only of outputs', () => {
    const { plan } = parse(`obscura: 1
name: t
${INPUTS}
steps:
  - { id: unused, filter: { from: visits, where: "cost > 0" } }
  - { id: a, aggregate: { from: visits, group_by: [region], measures: { m: { max: age } } } }
  - { id: b, aggregate: { from: a, measures: { n: { count: "*" }, top: { max: m } } } }
outputs: { b: {} }
`);
    const u = uses(plan);
    expect(u['visits']).toMatchObject({
      filter: [],
      group_by: ['region'],
      aggregate: ['age'],
      output: ['age'],
    });
  });

  it('refuses a join key computed from no column, on either side', () => {
    const r = refusal(() =>
      parse(`obscura: 1
name: t
${INPUTS}
steps:
  - { id: k, derive: { from: visits, columns: { key: "1" } } }
  - { id: j, join: { left: k, right: k, on: [key] } }
  - { id: a, aggregate: { from: j, measures: { n: { count: "*" } } } }
outputs: { a: {} }
`),
    );
    expect(r).toMatchObject({
      code: 'pipeline_join_key_constant',
      details: { step: 'j', column: 'key', path: 'steps[1].join.on' },
    });
    const right = refusal(() =>
      parse(`obscura: 1
name: t
${INPUTS}
steps:
  - { id: k, derive: { from: labs, columns: { region: "'north'" } } }
  - { id: j, join: { left: visits, right: k, on: [region] } }
  - { id: a, aggregate: { from: j, measures: { n: { count: "*" } } } }
outputs: { a: {} }
`),
    );
    expect(right).toMatchObject({ code: 'pipeline_join_key_constant', details: { side: 'k' } });
  });

  it('records the join_on use of the columns a derived key is computed from', () => {
    const { plan } = parse(`obscura: 1
name: t
${INPUTS}
steps:
  - { id: k, derive: { from: visits, columns: { key: "CASE WHEN region = 'x' THEN patient_id ELSE lower(patient_id) END" } } }
  - { id: l, derive: { from: labs, columns: { key: "patient_id" } } }
  - { id: j, join: { left: k, right: l, on: [key] } }
  - { id: a, aggregate: { from: j, measures: { n: { count: "*" } } } }
outputs: { a: {} }
`);
    const u = uses(plan);
    expect(u['visits']?.join_on.sort()).toEqual(['patient_id', 'region']);
    expect(u['labs']?.join_on).toEqual(['patient_id']);
  });
});
