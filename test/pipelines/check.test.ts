/**
 * checkPipeline: every refusal before anything runs — inputs, schemas, columns, step
 * references, row-level outputs, unsupported features — with its code and details; and
 * the plan of an accepted pipeline (columns read, outputs).
 */
import { describe, expect, it } from 'vitest';
import type { DatasetSchema } from '../../src/data/index.ts';
import { checkPipeline, type PipelineDocument, parsePipeline } from '../../src/pipelines/index.ts';
import { COST_BY_REGION, caughtSync, LABS_SCHEMA, PIPELINES_MD_EXAMPLE, VISITS_SCHEMA } from './fixtures.ts';

const inputs = { visits: VISITS_SCHEMA };

// biome-ignore lint/suspicious/noExplicitAny: tests edit documents freely
type Loose = any;

/** The sample pipeline with `edit` applied to a copy. */
function doc(edit: (d: Loose) => void = () => {}): PipelineDocument {
  const d = structuredClone(parsePipeline(COST_BY_REGION));
  edit(d);
  return parsePipeline(JSON.stringify(d));
}

describe('checkPipeline accepts', () => {
  it('the sample pipeline, reading only the columns its output depends on', () => {
    const plan = checkPipeline(doc(), inputs);
    expect(plan.inputs).toEqual([
      { name: 'visits', table: 'input_0', columnsRead: ['region', 'age', 'cost'] },
    ]);
    expect(plan.outputs).toEqual([
      {
        step: 'by_region',
        kind: 'aggregate',
        minGroupSize: 10,
        inputs: ['visits'],
        cells: [],
        columns: [
          { name: 'region', type: 'string' },
          { name: 'patients', type: 'int64' },
          { name: 'total_cost', type: 'float64' },
          { name: 'mean_cost', type: 'float64' },
          { name: 'max_cost', type: 'float64' },
        ],
      },
    ]);
    expect(plan.steps.map((s) => s.id)).toEqual(['adults', 'by_region']);
    expect(plan.steps[0]?.sql).toBe('SELECT "region", "cost" FROM "input_0" WHERE ("age" >= $1)');
    expect(plan.steps[0]?.params).toEqual([{ value: 18, type: 'BIGINT' }]);
  });

  it('declared types compatible with the data (int32 ← int64, float64 ← int64)', () => {
    const plan = checkPipeline(
      doc((d) => (d.inputs.visits.columns.cost = 'float64')),
      {
        visits: VISITS_SCHEMA.map((c) => (c.name === 'cost' ? { ...c, type: 'int64' as const } : c)),
      },
    );
    expect(plan.outputs[0]?.columns.find((c) => c.name === 'max_cost')?.type).toBe('int64');
  });

  it('a count over a step whose columns are otherwise unused (one column is still read)', () => {
    const plan = checkPipeline(
      doc((d) => {
        d.steps[1].aggregate = { from: 'adults', measures: { n: { count: '*' } } };
      }),
      inputs,
    );
    // The filter keeps one (non-string) column so that it has rows to count.
    expect(plan.inputs[0]?.columnsRead).toEqual(['age']);
    expect(plan.steps[0]?.sql).toBe('SELECT "age" FROM "input_0" WHERE ("age" >= $1)');
    expect(plan.outputs[0]?.minGroupSize).toBe(10);
  });
});

describe('checkPipeline refuses', () => {
  it('unbound and undeclared inputs', () => {
    expect(caughtSync(() => checkPipeline(doc(), {}), 'pipeline_unknown_input').details).toEqual({
      input: 'visits',
    });
    const extra = caughtSync(
      () => checkPipeline(doc(), { ...inputs, labs: VISITS_SCHEMA }),
      'pipeline_unknown_input',
    );
    expect(extra.details).toEqual({ input: 'labs' });
    // A mistyped name is the one reported, with the declared name suggested.
    const { visits, ...rest } = inputs;
    const typo = caughtSync(
      () => checkPipeline(doc(), { ...rest, visit: visits! }),
      'pipeline_unknown_input',
    );
    expect(typo.details).toEqual({ input: 'visit' });
    expect(typo.message).toMatch(
      /input visit, which the pipeline does not declare \(did you mean visits\?\)/,
    );
  });

  it('suggests the closest column and step for a typo', () => {
    const measure = caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.steps[1].aggregate.measures = { t: { sum: 'cots' } })),
          inputs,
        ),
      'pipeline_unknown_column',
    );
    expect(measure.message).toContain('unknown column cots (did you mean cost?)');
    const from = caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.steps[1].aggregate.from = 'adult')),
          inputs,
        ),
      'pipeline_unknown_step',
    );
    expect(from.message).toContain('names no input or earlier step (did you mean adults?)');
  });

  it('declared columns the dataset lacks or types it does not have', () => {
    const missing = caughtSync(
      () => checkPipeline(doc(), { visits: VISITS_SCHEMA.filter((c) => c.name !== 'cost') }),
      'pipeline_schema_mismatch',
    );
    expect(missing.details).toMatchObject({
      input: 'visits',
      column: 'cost',
      path: 'inputs.visits.columns.cost',
    });
    // The dataset's column names are its public schema, so the closest one is suggested.
    const renamed = caughtSync(
      () =>
        checkPipeline(doc(), {
          visits: VISITS_SCHEMA.map((c) => (c.name === 'cost' ? { ...c, name: 'costs' } : c)),
        }),
      'pipeline_schema_mismatch',
    );
    expect(renamed.message).toContain('declares column cost, which its dataset lacks (did you mean costs?)');
    const wrong: DatasetSchema = VISITS_SCHEMA.map((c) =>
      c.name === 'age' ? { ...c, type: 'string' as const } : c,
    );
    const e = caughtSync(() => checkPipeline(doc(), { visits: wrong }), 'pipeline_schema_mismatch');
    expect(e.details).toMatchObject({ input: 'visits', column: 'age', declared: 'int32', actual: 'string' });
  });

  it('columns that do not exist at the step (including undeclared dataset columns)', () => {
    const where = caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.steps[0].filter.where = 'agee >= 18')),
          inputs,
        ),
      'pipeline_unknown_column',
    );
    expect(where.details).toMatchObject({ step: 'adults', field: 'where', column: 'agee', offset: 0 });
    const undeclared = caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.steps[0].filter.where = 'readmitted')),
          inputs,
        ),
      'pipeline_unknown_column',
    );
    expect(undeclared.details).toMatchObject({ column: 'readmitted' });
    const hint = caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.steps[0].filter.where = 'AGE > 1')),
          inputs,
        ),
      'pipeline_unknown_column',
    );
    expect(hint.message).toContain('did you mean age?');
    const group = caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.steps[1].aggregate.group_by = ['region', 'zone'])),
          inputs,
        ),
      'pipeline_unknown_column',
    );
    expect(group.details).toMatchObject({
      step: 'by_region',
      field: 'group_by',
      column: 'zone',
      path: 'steps[1].aggregate.group_by[1]',
    });
    const measure = caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.steps[1].aggregate.measures.max_cost = { max: 'costs' })),
          inputs,
        ),
      'pipeline_unknown_column',
    );
    expect(measure.details).toMatchObject({ step: 'by_region', field: 'measures.max_cost', column: 'costs' });
    // The filter only passes on columns of its input: a column dropped by an aggregate is gone.
    const after = caughtSync(
      () =>
        checkPipeline(
          doc((d) => {
            d.steps.push({ id: 'again', aggregate: { from: 'by_region', measures: { n: { sum: 'age' } } } });
          }),
          inputs,
        ),
      'pipeline_unknown_column',
    );
    expect(after.details).toMatchObject({ step: 'again', column: 'age' });
  });

  it('row-level outputs', () => {
    const e = caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.outputs = { adults: {} })),
          inputs,
        ),
      'pipeline_row_level_output',
    );
    expect(e.details).toMatchObject({ step: 'adults', path: 'outputs.adults' });
  });

  it('duplicate step ids, steps named like inputs, and references to unknown or later steps', () => {
    caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.steps[1].id = 'adults')),
          inputs,
        ),
      'pipeline_duplicate_step',
    );
    caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.steps[0].id = 'visits')),
          inputs,
        ),
      'pipeline_duplicate_step',
    );
    const later = caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.steps[0].filter.from = 'by_region')),
          inputs,
        ),
      'pipeline_unknown_step',
    );
    expect(later.details).toMatchObject({
      step: 'adults',
      field: 'from',
      ref: 'by_region',
      path: 'steps[0].filter.from',
    });
    caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.steps[0].filter.from = 'nowhere')),
          inputs,
        ),
      'pipeline_unknown_step',
    );
    caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.outputs = { nothing: {} })),
          inputs,
        ),
      'pipeline_unknown_step',
    );
  });

  it('dp over a join, train steps, and evaluate of something not trained', () => {
    const md = parsePipeline(PIPELINES_MD_EXAMPLE);
    const both = { visits: VISITS_SCHEMA, labs: LABS_SCHEMA };
    // Its dp output groups by region without a delta, over a join that may repeat rows: refused, saying so.
    const e = caughtSync(() => checkPipeline(md, both), 'pipeline_dp_unsupported');
    expect(e.details).toMatchObject({ step: 'by_region', path: 'outputs.by_region.dp' });
    expect(e.message).toMatch(/delta/);
    (md.outputs.by_region as { dp?: { epsilon: number; delta?: number } }).dp = { epsilon: 0.5, delta: 1e-6 };
    const join = caughtSync(() => checkPipeline(md, both), 'pipeline_dp_unsupported');
    expect(join.message).toMatch(/join with_labs .* unique: true/);
    delete (md.outputs.by_region as { dp?: unknown }).dp;
    // Without dp, the whole example of pipelines.md (join, derive, every listed measure, a train step) is accepted.
    const whole = checkPipeline(md, both);
    expect(whole.outputs.map((o) => o.step)).toEqual(['by_region', 'risk_model']);
    expect(whole.outputs[1]?.columns.map((c) => c.name)).toEqual(['age', 'hba1c', 'cost', 'readmitted']);
    // An evaluate step must name a train step as its model.
    const evaluate = caughtSync(
      () =>
        checkPipeline(
          doc((d) => d.steps.push({ id: 'scored', evaluate: { model: 'by_region', from: 'adults' } })),
          inputs,
        ),
      'pipeline_invalid',
    );
    expect(evaluate.details).toMatchObject({
      step: 'scored',
      field: 'model',
      path: 'steps[2].evaluate.model',
    });
    // Without the train step, the whole example of pipelines.md (join, derive, every listed measure) is accepted.
    md.steps.pop();
    delete md.outputs.risk_model;
    const plan = checkPipeline(md, both);
    expect(plan.outputs[0]).toMatchObject({
      step: 'by_region',
      inputs: ['visits', 'labs'],
      minGroupSize: 10,
    });
    expect(plan.inputs.map((i) => [i.name, i.columnsRead, i.rowIdColumn])).toEqual([
      ['visits', ['patient_id', 'region', 'age', 'cost', 'readmitted'], '__obscura_rid_visits'],
      ['labs', ['patient_id', 'hba1c'], '__obscura_rid_labs'],
    ]);
  });

  it('measures of the wrong type', () => {
    const sum = caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.steps[1].aggregate.measures.x = { sum: 'region' })),
          inputs,
        ),
      'pipeline_type_mismatch',
    );
    expect(sum.details).toMatchObject({ step: 'by_region', column: 'region', type: 'string' });
    caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.steps[1].aggregate.measures.x = { max: 'patient_id' })),
          inputs,
        ),
      'pipeline_type_mismatch',
    );
    const dates = { visits: VISITS_SCHEMA };
    caughtSync(
      () =>
        checkPipeline(
          doc((d) => {
            d.inputs.visits.columns.visit_date = 'date';
            d.steps[1].aggregate.measures.x = { min: 'visit_date', bounds: [0, 1] };
          }),
          dates,
        ),
      'pipeline_type_mismatch',
    );
  });

  it('output columns that collide (ignoring case)', () => {
    const e = caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.steps[1].aggregate.measures.Region = { count: '*' })),
          inputs,
        ),
      'pipeline_invalid',
    );
    expect(e.details?.path).toBe('steps[1].aggregate.measures.Region');
  });

  it('ill-typed where expressions, with the offset', () => {
    const e = caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.steps[0].filter.where = 'age >= 18 AND region > 5')),
          inputs,
        ),
      'pipeline_expression_invalid',
    );
    expect(e.details).toMatchObject({
      step: 'adults',
      field: 'where',
      path: 'steps[0].filter.where',
      offset: 21,
    });
    caughtSync(
      () =>
        checkPipeline(
          doc((d) => (d.steps[0].filter.where = 'age + 1')),
          inputs,
        ),
      'pipeline_expression_invalid',
    );
  });
});
