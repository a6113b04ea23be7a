/**
 * The checker on derive, join and the new measures: the shape it plans (join column
 * naming, derived types, what is read per input, hidden provenance columns never shown)
 * and every refusal, each naming the step, the field and the document path — and, for
 * expressions, the offset.
 */
import { describe, expect, it } from 'vitest';
import type { DatasetSchema } from '../../src/data/index.ts';
import { checkPipeline, type PipelineDocument, parsePipeline } from '../../src/pipelines/index.ts';
import { caughtSync, LABS_SCHEMA, VISITS_SCHEMA } from './fixtures.ts';

const VISITS = {
  patient_id: 'string',
  region: 'string',
  age: 'int64',
  cost: 'float64',
  readmitted: 'bool',
  visit_date: 'date',
};
const LABS = { patient_id: 'string', hba1c: 'float64', ldl: 'float64', test_date: 'date' };
const SCHEMAS: Record<string, DatasetSchema> = { visits: VISITS_SCHEMA, labs: LABS_SCHEMA };

/** A two-input document with the given steps; the last step is the output. */
function doc(steps: unknown[], output?: string): PipelineDocument {
  const last = (steps[steps.length - 1] as { id: string }).id;
  return parsePipeline(
    JSON.stringify({
      obscura: 1,
      name: 't',
      inputs: { visits: { columns: VISITS }, labs: { columns: LABS } },
      steps,
      outputs: { [output ?? last]: {} },
    }),
  );
}

const count = (from: string, extra: Record<string, unknown> = {}) => ({
  id: 'out',
  aggregate: { from, measures: { n: { count: '*' } }, ...extra },
});
const check = (steps: unknown[]) => checkPipeline(doc(steps), SCHEMAS);
const refused = (steps: unknown[], code: string) => caughtSync(() => check(steps), code);

describe('join', () => {
  it('names columns predictably: keys once, left then right, clashes prefixed by relation', () => {
    const plan = check([
      { id: 'adults', filter: { from: 'visits', where: 'age >= 18' } },
      { id: 'j', join: { left: 'adults', right: 'labs', on: ['patient_id'] } },
      { id: 'd', derive: { from: 'j', columns: { gap: 'year(test_date) - year(visit_date)' } } },
      { id: 'out', aggregate: { from: 'd', group_by: ['region', 'gap'], measures: { n: { count: '*' } } } },
    ]);
    const join = plan.steps.find((s) => s.id === 'j');
    expect(join?.sql).toBe(
      'SELECT "l"."region" AS "region", "l"."visit_date" AS "visit_date", "r"."test_date" AS "test_date", "l"."__obscura_rid_visits" AS "__obscura_rid_visits", "r"."__obscura_rid_labs" AS "__obscura_rid_labs" FROM "step_0" AS "l" INNER JOIN "input_1" AS "r" ON ("l"."patient_id" = "r"."patient_id")',
    );
    expect(plan.outputs[0]?.columns).toEqual([
      { name: 'region', type: 'string' },
      { name: 'gap', type: 'int64' },
      { name: 'n', type: 'int64' },
    ]);
    // Row ids are loaded for counting but never listed as columns read.
    expect(plan.inputs).toEqual([
      {
        name: 'visits',
        table: 'input_0',
        columnsRead: ['patient_id', 'region', 'age', 'visit_date'],
        rowIdColumn: '__obscura_rid_visits',
      },
      {
        name: 'labs',
        table: 'input_1',
        columnsRead: ['patient_id', 'test_date'],
        rowIdColumn: '__obscura_rid_labs',
      },
    ]);
  });

  it('renames clashing columns on both sides, with left_/right_ for a self-join', () => {
    const clashing = parsePipeline(
      JSON.stringify({
        obscura: 1,
        name: 't',
        inputs: {
          a: { columns: { id: 'string', x: 'int64', y: 'float64' } },
          b: { columns: { id: 'string', X: 'int64', z: 'bool' } },
        },
        steps: [
          { id: 'ab', join: { left: 'a', right: 'b', on: ['id'], how: 'left' } },
          { id: 'self', join: { left: 'a', right: 'a', on: ['id'] } },
          {
            id: 'g1',
            aggregate: { from: 'ab', group_by: ['a_x', 'b_X', 'z'], measures: { y: { sum: 'y' } } },
          },
          {
            id: 'g2',
            aggregate: {
              from: 'self',
              group_by: ['left_x', 'right_x'],
              measures: { n: { count: 'right_y' } },
            },
          },
        ],
        outputs: { g1: {}, g2: {} },
      }),
    );
    const plan = checkPipeline(clashing, {
      a: [
        { name: 'id', type: 'string' },
        { name: 'x', type: 'int64' },
        { name: 'y', type: 'float64' },
      ],
      b: [
        { name: 'id', type: 'string' },
        { name: 'X', type: 'int64' },
        { name: 'z', type: 'bool' },
      ],
    });
    expect(plan.outputs.map((o) => o.columns.map((c) => c.name))).toEqual([
      ['a_x', 'b_X', 'z', 'y'],
      ['left_x', 'right_x', 'n'],
    ]);
    expect(plan.outputs.map((o) => o.inputs)).toEqual([['a', 'b'], ['a']]);
    const self = plan.steps.find((s) => s.id === 'self');
    expect(self?.sql).toContain('"r"."__obscura_rid_a" AS "__obscura_rid_a_j1"');
    expect(self?.from).toEqual(['input_0']);
  });

  it('refuses unknown or repeated keys, incompatible key types and colliding names', () => {
    const unknown = refused(
      [{ id: 'j', join: { left: 'visits', right: 'labs', on: ['region'] } }, count('j')],
      'pipeline_unknown_column',
    );
    expect(unknown.details).toEqual({
      step: 'j',
      field: 'on',
      column: 'region',
      side: 'right',
      path: 'steps[0].join.on[0]',
    });
    const twice = refused(
      [{ id: 'j', join: { left: 'visits', right: 'labs', on: ['patient_id', 'patient_id'] } }, count('j')],
      'pipeline_invalid',
    );
    expect(twice.details).toMatchObject({ step: 'j', field: 'on', path: 'steps[0].join.on[1]' });
    const types = refused(
      [
        { id: 'k', derive: { from: 'labs', columns: { visit_date: 'ldl' } } },
        { id: 'j', join: { left: 'visits', right: 'k', on: ['visit_date'] } },
        count('j'),
      ],
      'pipeline_type_mismatch',
    );
    expect(types.details).toEqual({
      step: 'j',
      field: 'on',
      column: 'visit_date',
      left: 'date',
      right: 'float64',
      path: 'steps[1].join.on[0]',
    });
    const collide = refused(
      [
        { id: 'k', derive: { from: 'labs', columns: { k_region: "'x'", region: "'y'" } } },
        { id: 'j', join: { left: 'visits', right: 'k', on: ['patient_id'] } },
        count('j'),
      ],
      'pipeline_invalid',
    );
    expect(collide.details).toMatchObject({ step: 'j', column: 'k_region' });
    const later = refused(
      [{ id: 'j', join: { left: 'visits', right: 'out', on: ['patient_id'] } }, count('j')],
      'pipeline_unknown_step',
    );
    expect(later.details).toMatchObject({
      step: 'j',
      field: 'right',
      ref: 'out',
      path: 'steps[0].join.right',
    });
  });

  it('may not be an output (its rows are records)', () => {
    const e = caughtSync(
      () =>
        checkPipeline(
          doc([{ id: 'j', join: { left: 'visits', right: 'labs', on: ['patient_id'] } }]),
          SCHEMAS,
        ),
      'pipeline_row_level_output',
    );
    expect(e.details).toMatchObject({ step: 'j', path: 'outputs.j' });
  });
});

describe('derive', () => {
  it('types each new column and carries only what is needed', () => {
    const plan = check([
      {
        id: 'd',
        derive: {
          from: 'visits',
          columns: {
            band: 'floor(age / 10) * 10',
            senior: 'age >= 65',
            kind: "CASE WHEN readmitted THEN 'again' ELSE 'once' END",
            unused: 'cost * 2',
          },
        },
      },
      {
        id: 'out',
        aggregate: { from: 'd', group_by: ['band', 'senior', 'kind'], measures: { n: { count: '*' } } },
      },
    ]);
    expect(plan.outputs[0]?.columns.map((c) => c.type)).toEqual(['float64', 'bool', 'string', 'int64']);
    const d = plan.steps[0];
    // The unused column is not computed and its literal not bound.
    expect(d?.sql).toBe(
      'SELECT (floor(("age" / $1)) * $2) AS "band", ("age" >= $3) AS "senior", (CASE WHEN "readmitted" THEN $4 ELSE $5 END) AS "kind" FROM "input_0"',
    );
    expect(d?.params.map((p) => p.value)).toEqual([10, 10, 65, 'again', 'once']);
    expect(plan.inputs[0]?.columnsRead).toEqual(['age', 'readmitted']);
  });

  it('refuses repeated, reserved and untyped columns and bad expressions, naming the column', () => {
    const repeat = refused(
      [{ id: 'd', derive: { from: 'visits', columns: { Region: "'x'" } } }, count('d')],
      'pipeline_invalid',
    );
    expect(repeat.details).toEqual({
      step: 'd',
      field: 'columns.Region',
      column: 'Region',
      path: 'steps[0].derive.columns.Region',
    });
    const reserved = refused(
      [{ id: 'd', derive: { from: 'visits', columns: { __obscura_rid_visits: '1' } } }, count('d')],
      'pipeline_invalid',
    );
    expect(reserved.message).toContain('reserved');
    const untyped = refused(
      [{ id: 'd', derive: { from: 'visits', columns: { nothing: 'NULL' } } }, count('d')],
      'pipeline_expression_invalid',
    );
    expect(untyped.details).toMatchObject({
      step: 'd',
      field: 'columns.nothing',
      path: 'steps[0].derive.columns.nothing',
      offset: 0,
    });
    const typo = refused(
      [{ id: 'd', derive: { from: 'visits', columns: { 'a b': 'age + cots' } } }, count('d')],
      'pipeline_unknown_column',
    );
    expect(typo.details).toEqual({
      step: 'd',
      field: 'columns.a b',
      column: 'cots',
      path: 'steps[0].derive.columns["a b"]',
      offset: 6,
    });
    const typed = refused(
      [{ id: 'd', derive: { from: 'visits', columns: { x: 'region * 2' } } }, count('d')],
      'pipeline_expression_invalid',
    );
    expect(typed.details).toMatchObject({ field: 'columns.x', offset: 7 });
    // Columns derived in the same step are not visible to each other.
    const chained = refused(
      [{ id: 'd', derive: { from: 'visits', columns: { a: 'age + 1', b: 'a + 1' } } }, count('d')],
      'pipeline_unknown_column',
    );
    expect(chained.details).toMatchObject({ field: 'columns.b', column: 'a' });
  });

  it('refuses inputs declaring reserved column names', () => {
    const e = caughtSync(
      () =>
        checkPipeline(
          parsePipeline(
            JSON.stringify({
              obscura: 1,
              name: 't',
              inputs: { t: { columns: { __OBSCURA_x: 'int64' } } },
              steps: [count('t')],
              outputs: { out: {} },
            }),
          ),
          { t: [{ name: '__OBSCURA_x', type: 'int64' }] },
        ),
      'pipeline_invalid',
    );
    expect(e.details).toMatchObject({
      input: 't',
      column: '__OBSCURA_x',
      path: 'inputs.t.columns.__OBSCURA_x',
    });
  });
});

describe('measures', () => {
  const measure = (m: Record<string, unknown>) => [
    { id: 'out', aggregate: { from: 'visits', group_by: ['region'], measures: { m } } },
  ];

  it('give the documented types', () => {
    const plan = check([
      {
        id: 'out',
        aggregate: {
          from: 'visits',
          measures: {
            a: { count_distinct: 'patient_id' },
            b: { stddev: 'age' },
            c: { variance: 'readmitted' },
            d: { quantile: 'age', q: 0.5 },
            e: { histogram: 'cost', bins: 4, bounds: [0, 100] },
            f: { histogram: 'age', bins: [0, 18, 65, 120] },
            g: { sum: 'age', bounds: [0, 100] },
            h: { sum: 'age', bounds: [0, 99.5] },
            i: { min: 'visit_date' },
          },
        },
      },
    ]);
    expect(plan.outputs[0]?.columns.map((c) => c.type)).toEqual([
      'int64',
      'float64',
      'float64',
      'float64',
      'string',
      'string',
      'int64',
      'float64',
      'date',
    ]);
  });

  it('bind every option from the document as a parameter', () => {
    const plan = check([
      {
        id: 'out',
        aggregate: {
          from: 'visits',
          measures: {
            q: { quantile: 'cost', q: 0.123, bounds: [-7.25, 98765.5] },
            h: { histogram: 'cost', bins: [11.5, 2222.25, 33333.75] },
            w: { histogram: 'age', bins: 7, bounds: [4444, 55555] },
          },
        },
      },
    ]);
    const agg = plan.steps[0];
    for (const v of ['0.123', '7.25', '98765', '2222', '33333', '11.5', '4444', '55555'])
      expect(agg?.sql).not.toContain(v);
    expect(agg?.params.map((p) => p.value)).toEqual(
      expect.arrayContaining([0.123, -7.25, 98765.5, 2222.25, 11.5, 33333.75, 4444, 55555, 7]),
    );
    expect(agg?.sql).not.toContain("'");
  });

  it('refuse columns of the wrong type, naming the measure', () => {
    for (const m of [
      { stddev: 'region' },
      { variance: 'visit_date' },
      { quantile: 'patient_id', q: 0.5 },
      { histogram: 'region', bins: 2, bounds: [0, 1] },
    ]) {
      const e = refused(measure(m), 'pipeline_type_mismatch');
      expect(e.details).toMatchObject({
        step: 'out',
        field: 'measures.m',
        path: 'steps[0].aggregate.measures.m',
      });
    }
    const bounds = refused(measure({ min: 'visit_date', bounds: [0, 1] }), 'pipeline_type_mismatch');
    expect(bounds.details).toMatchObject({
      field: 'measures.m.bounds',
      path: 'steps[0].aggregate.measures.m.bounds',
    });
    const unknown = refused(measure({ count_distinct: 'nope' }), 'pipeline_unknown_column');
    expect(unknown.details).toMatchObject({
      field: 'measures.m',
      column: 'nope',
      path: 'steps[0].aggregate.measures.m.count_distinct',
    });
  });

  it('refuse malformed histograms and bounds in the document itself', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ histogram: 'cost', bins: 4 }, 'steps[0].aggregate.measures.m.bounds'],
      [{ histogram: 'cost', bins: 4, bounds: [1, 1] }, 'steps[0].aggregate.measures.m.bounds'],
      [{ histogram: 'cost', bins: [0, 5, 5] }, 'steps[0].aggregate.measures.m.bins'],
      [{ histogram: 'cost', bins: [0, 5, 9], bounds: [0, 10] }, 'steps[0].aggregate.measures.m.bounds'],
      [{ histogram: 'cost', bins: 0, bounds: [0, 1] }, 'steps[0].aggregate.measures.m.bins'],
      [{ count: 'cost', bounds: [0, 1] }, 'steps[0].aggregate.measures.m.bounds'],
      [{ count_distinct: 'cost', bounds: [0, 1] }, 'steps[0].aggregate.measures.m.bounds'],
      [{ quantile: 'cost', q: 1.5 }, 'steps[0].aggregate.measures.m.q'],
      [{ stddev: 'cost', q: 0.5 }, 'steps[0].aggregate.measures.m.q'],
      [{ mean: 'cost', bins: 3 }, 'steps[0].aggregate.measures.m.bins'],
    ];
    for (const [m, path] of cases) {
      const e = caughtSync(() => doc(measure(m)), 'pipeline_invalid');
      expect(e.details?.path, JSON.stringify(m)).toBe(path);
    }
  });
});
