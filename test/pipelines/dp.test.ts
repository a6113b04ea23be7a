/**
 * Differential privacy through the pipeline runner, on the sample data: outputs with `dp`
 * are released noisy (close to the exact values at a generous epsilon, never equal to all
 * of them), say what was applied, select groups by a noisy count against the threshold, and
 * join only with unique keys; every output that cannot be made DP is refused by the
 * checker, naming the output, the measure or the step. releaseDp's selection and
 * post-processing are also checked with a noise function that adds nothing.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkPipeline,
  declaredSchemas,
  parsePipeline,
  type PipelineDocument,
  runPipeline,
} from '../../src/pipelines/index.ts';
import { planDp, quantileFromHistogram, releaseDp } from '../../src/pipelines/dp.ts';
import { caught, sample, sampleVisits } from './fixtures.ts';

const VISITS = '{ patient_id: string, region: string, age: int64, cost: float64, readmitted: bool }';
function doc(steps: string, outputs: string, inputs = `visits: { columns: ${VISITS} }`): PipelineDocument {
  return parsePipeline(
    `obscura: 1\nname: dp\ninputs: { ${inputs} }\nsteps:\n${steps}\noutputs: ${outputs}\n`,
  );
}

const TOTALS = `  - id: t
    aggregate:
      from: visits
      measures:
        n: { count: "*" }
        total: { sum: cost, bounds: [0, 10000] }
        avg: { mean: cost, bounds: [0, 10000] }
        p50: { quantile: cost, q: 0.5, bounds: [0, 10000] }
        ages: { histogram: age, bins: 4, bounds: [0, 100] }
        readmit: { mean: readmitted, bounds: [0, 1] }`;

describe('dp outputs', () => {
  it('are noisy, close to the exact values at a large epsilon, and say what was applied', async () => {
    const visits = await sampleVisits();
    const d = doc(TOTALS, '{ t: { dp: { epsilon: 50 } } }');
    const exact = (await runPipeline(d, { visits }, { privacy: false })).t;
    const noisy = (await runPipeline(d, { visits })).t;
    expect(noisy?.columns).toEqual(exact?.columns);
    expect(noisy?.dp).toEqual({ mechanism: 'laplace', epsilon: 50, delta: 0, threshold: 1 });
    expect(exact?.dp).toBeUndefined();
    const [e, n] = [exact?.rows[0] as (number | string)[], noisy?.rows[0] as (number | string)[]];
    // Seven queries share epsilon 50: each gets about 7; a count moves by a few, a sum by about 10000/7.
    expect(Math.abs((n[0] as number) - (e[0] as number))).toBeLessThan(20);
    expect(Math.abs((n[1] as number) - (e[1] as number))).toBeLessThan(40_000);
    expect(Math.abs((n[2] as number) - (e[2] as number))).toBeLessThan(200);
    expect(Math.abs((n[3] as number) - (e[3] as number))).toBeLessThan(800);
    const [eh, nh] = [JSON.parse(e[4] as string) as number[], JSON.parse(n[4] as string) as number[]];
    expect(nh).toHaveLength(4);
    for (const [i, c] of nh.entries()) expect(Math.abs(c - (eh[i] as number))).toBeLessThan(20);
    expect(n[5]).toBeGreaterThanOrEqual(0);
    expect(n[5]).toBeLessThanOrEqual(1);
    expect(n.slice(0, 4)).not.toEqual(e.slice(0, 4));
  });

  it('release only groups whose noisy count reaches the threshold and min_group_size', async () => {
    const visits = await sampleVisits();
    const steps = `  - id: g\n    aggregate: { from: visits, group_by: [region], measures: { n: { count: "*" } } }`;
    const exact = (await runPipeline(doc(steps, '{ g: {} }'), { visits }, { privacy: false })).g;
    const out = (
      await runPipeline(doc(steps, '{ g: { min_group_size: 50, dp: { epsilon: 2, delta: 1.0e-6 } } }'), {
        visits,
      })
    ).g;
    const threshold = out?.dp?.threshold as number;
    expect(threshold).toBeGreaterThanOrEqual(50);
    const sizes = new Map((exact?.rows ?? []).map((r) => [r[0], r[1] as number]));
    const released = (out?.rows ?? []).map((r) => r[0]);
    // Far above the threshold: always released; far below: never (noise is about ±1 here).
    for (const [region, size] of sizes) {
      if (size > threshold + 30) expect(released).toContain(region);
      if (size < threshold - 30) expect(released).not.toContain(region);
    }
    expect(out?.suppressedGroups).toBe(0);
  });

  it('join only on unique keys, and run', async () => {
    const inputs = `visits: { columns: ${VISITS} }, labs: { columns: { patient_id: string, hba1c: float64 } }`;
    const steps = (unique: string) => `  - id: j
    join: { left: visits, right: labs, on: [patient_id]${unique} }
  - id: a
    aggregate: { from: j, measures: { n: { count: "*" }, h: { mean: hba1c, bounds: [3, 15] } } }`;
    const out = '{ a: { dp: { epsilon: 5 } } }';
    const schemas = { visits: await sampleVisits(), labs: await sample('labs') };
    expect(
      (await caught(() => runPipeline(doc(steps(''), out, inputs), schemas), 'pipeline_dp_unsupported'))
        .message,
    ).toMatch(/join j .*unique: true/);
    const left = doc(steps(', how: left, unique: true'), out, inputs);
    expect((await caught(() => runPipeline(left, schemas), 'pipeline_dp_unsupported')).details).toMatchObject(
      { ref: 'j' },
    );
    const d = doc(steps(', unique: true'), out, inputs);
    const exact = (await runPipeline(d, schemas, { privacy: false })).a?.rows[0] as number[];
    const noisy = (await runPipeline(d, schemas)).a?.rows[0] as number[];
    // Patients with several lab rows are dropped: fewer rows than the plain join would give.
    expect(exact[0]).toBeGreaterThan(0);
    expect(Math.abs((noisy[0] as number) - (exact[0] as number))).toBeLessThan(15);
  });

  it("the DP example of pipelines/ runs with noise over two owners' datasets", async () => {
    const d = parsePipeline(
      readFileSync(new URL('../../pipelines/dp-readmission-by-region.yaml', import.meta.url), 'utf8'),
    );
    const out = (await runPipeline(d, { visits: await sampleVisits(), labs: await sample('labs') }))
      .by_region;
    expect(out?.dp).toMatchObject({ mechanism: 'laplace', epsilon: 1, delta: 1e-6 });
    expect(out?.dp?.threshold).toBeGreaterThanOrEqual(10);
    for (const row of out?.rows ?? []) {
      expect(row[3]).toBeGreaterThanOrEqual(0);
      expect(row[3]).toBeLessThanOrEqual(20000);
      expect(row[4]).toBeGreaterThanOrEqual(0);
      expect(row[4]).toBeLessThanOrEqual(1);
    }
  });

  it('refuse what cannot be made DP, naming it', async () => {
    const cases: [string, string, string, RegExp][] = [
      [
        `  - id: t\n    aggregate: { from: visits, measures: { m: { max: cost } } }`,
        '{ t: { dp: { epsilon: 1 } } }',
        'pipeline_dp_unsupported',
        /measure m \(max\)/,
      ],
      [
        `  - id: t\n    aggregate: { from: visits, measures: { s: { sum: cost } } }`,
        '{ t: { dp: { epsilon: 1 } } }',
        'pipeline_dp_bounds_required',
        /measure s \(sum\) needs bounds/,
      ],
      [
        `  - id: t\n    aggregate: { from: visits, measures: { n: { count: "*" } } }`,
        '{ t: { dp: { epsilon: 1, mechanism: gaussian } } }',
        'pipeline_dp_unsupported',
        /Gaussian mechanism needs dp.delta/,
      ],
      [
        `  - id: t\n    aggregate: { from: visits, group_by: [region], measures: { n: { count: "*" } } }`,
        '{ t: { dp: { epsilon: 1 } } }',
        'pipeline_dp_unsupported',
        /group_by, dp.delta > 0/,
      ],
      [
        `  - id: a\n    aggregate: { from: visits, group_by: [region], measures: { n: { count: "*" } } }\n  - id: t\n    aggregate: { from: a, measures: { k: { count: "*" } } }`,
        '{ t: { dp: { epsilon: 1 } } }',
        'pipeline_dp_unsupported',
        /computed from a aggregate step \(a\)/,
      ],
      [
        `  - id: t\n    aggregate: { from: visits, measures: { n: { count: "*" } } }\n  - id: u\n    aggregate: { from: t, measures: { k: { count: "*" } } }`,
        '{ t: { dp: { epsilon: 1 } }, u: {} }',
        'pipeline_dp_unsupported',
        /step u reads it/,
      ],
    ];
    for (const [steps, outputs, code, message] of cases) {
      const d = doc(steps, outputs);
      const e = await caught(() => checkPipeline(d, declaredSchemas(d)), code);
      expect(e.message).toMatch(message);
      expect(e.details).toHaveProperty('step');
    }
  });

  it('planDp rewrites means and quantiles into exact sums, counts and histograms, leaving the rest', () => {
    const { doc: planned, outputs } = planDp(doc(TOTALS, '{ t: { dp: { epsilon: 1 } } }'));
    const measures = planned.steps[0]?.aggregate?.measures ?? {};
    expect(Object.keys(measures)).toEqual([
      'n',
      'total',
      'avg_dp_sum',
      'avg_dp_n',
      'p50_dp_hist',
      'ages',
      'readmit_dp_sum',
      'readmit_dp_n',
    ]);
    expect(measures.p50_dp_hist).toEqual({ histogram: 'cost', bins: 128, bounds: [0, 10000] });
    expect(outputs[0]?.measures.map((m) => m.kind)).toEqual([
      'count',
      'sum',
      'mean',
      'quantile',
      'histogram',
      'mean',
    ]);
  });

  it('releaseDp selects, clamps and post-processes (with noise that adds nothing)', () => {
    const plan = planDp(
      doc(
        `  - id: g\n    aggregate: { from: visits, group_by: [region], measures: { avg: { mean: cost, bounds: [0, 100] }, p: { quantile: cost, q: 0.5, bounds: [0, 100] } } }`,
        '{ g: { min_group_size: 3, dp: { epsilon: 4, delta: 0.01 } } }',
      ),
    ).outputs[0];
    if (!plan) throw new Error('no plan');
    const hist = JSON.stringify([...new Array(64).fill(0), 10, ...new Array(63).fill(0)]);
    const groups = [
      { values: { region: 'a', avg_dp_sum: 500, avg_dp_n: 10, p_dp_hist: hist }, rows: 10 },
      { values: { region: 'b', avg_dp_sum: 400, avg_dp_n: 2, p_dp_hist: hist }, rows: 2 },
    ];
    const columns = [
      { name: 'region', type: 'string' },
      { name: 'avg', type: 'float64' },
      { name: 'p', type: 'float64' },
    ];
    const { rows, dp } = releaseDp(plan, groups, columns, 3, (v) => v);
    // Four queries (a mean is two, plus the group count) at epsilon 1 each: τ = 1 + ⌈ln(100)⌉ = 6.
    expect(dp.threshold).toBe(6);
    expect(rows.map((r) => r[0])).toEqual(['a']);
    expect(rows[0]?.slice(1)).toEqual([50, 50.390625]);
    expect(quantileFromHistogram([0, 4, 4, 0], 0, 40, 0.5)).toBe(20);
    expect(quantileFromHistogram([0, 0], 0, 10, 0.5)).toBe(5);
  });
});
