/**
 * Dataset policies: parsing (errors name the path), each refusal code of enforcePolicies,
 * the column uses derived from a pipeline, and the strictest of several inputs.
 */
import { describe, expect, it } from 'vitest';
import { isObscuraError } from '../../src/common/errors.ts';
import type { Manifest } from '../../src/crypto/manifest.ts';
import { checkPipeline, declaredSchemas, parsePipeline, pipelineHash } from '../../src/pipelines/index.ts';
import { examplePipelines } from '../pipelines/fixtures.ts';
import {
  applyLimits,
  columnUses,
  type DatasetPolicy,
  type EnforceContext,
  enforcePolicies,
  parseDatasetPolicy,
  privacyCost,
} from '../../src/privacy/index.ts';

const ANALYST = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';
const OTHER = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const HASH = 'a'.repeat(64);

const FULL = `obscura-policy: 1
analysts: ["${ANALYST}"]
pipelines: [${HASH}]
columns:
  group_by: [region, age]
  aggregate: [cost, age, readmitted]
  join_on: [patient_id]
  never_output: [patient_id]
min_group_size: 10
dp: { epsilon: 3.0, delta: 1.0e-6, max_epsilon_per_job: 1.0, required: false }
models: { release: metrics }
expires: 2027-12-31T00:00:00Z
attestation: { tee: [tdx], tcb: [UpToDate] }
`;

const JOINED = `obscura: 1
name: joined
inputs:
  visits: { columns: { patient_id: string, region: string, age: int64, cost: float64 } }
  labs: { columns: { patient_id: string, hba1c: float64 } }
steps:
  - id: j
    join: { left: visits, right: labs, on: [patient_id] }
  - id: banded
    derive: { from: j, columns: { band: "age / 10" } }
  - id: by_band
    aggregate: { from: banded, group_by: [region, band], measures: { n: { count: "*" }, c: { mean: cost }, top: { max: hba1c } } }
outputs: { by_band: { min_group_size: 3 } }
`;

function planOf(text: string) {
  const doc = parsePipeline(text);
  return { doc, plan: checkPipeline(doc, declaredSchemas(doc)), hash: pipelineHash(doc) };
}

function manifest(name: string, policy?: Partial<DatasetPolicy>): Manifest {
  return {
    obscura: 'manifest/1',
    name,
    owner: OTHER,
    format: 'csv',
    schema: [],
    rows: 1,
    plaintext: { sha256: '0'.repeat(64), bytes: 1 },
    ciphertext: { sha256: '0'.repeat(64), bytes: 1 },
    worker: { id: 'w', recipient: 'age1x' },
    analysts: ['*'],
    measurements: ['0'.repeat(64)],
    ...(policy ? { policy: { 'obscura-policy': 1, ...policy } } : {}),
    createdAt: new Date().toISOString(),
  };
}

function refusal(fn: () => unknown): {
  code: string;
  status: number;
  message: string;
  details?: Record<string, unknown>;
} {
  try {
    fn();
  } catch (e) {
    if (isObscuraError(e))
      return {
        code: e.code,
        status: e.status,
        message: e.message,
        ...(e.details ? { details: e.details } : {}),
      };
    throw e;
  }
  throw new Error('expected a refusal');
}

const NOW = new Date('2026-06-01T00:00:00Z');

describe('parsing', () => {
  it('parses the full document of policies.md', () => {
    const p = parseDatasetPolicy(FULL);
    expect(p.min_group_size).toBe(10);
    expect(p.pipelines).toEqual([HASH]);
    expect(p.columns?.never_output).toEqual(['patient_id']);
    expect(p.dp).toEqual({ epsilon: 3, delta: 1e-6, max_epsilon_per_job: 1, required: false });
    expect(p.expires).toBe('2027-12-31T00:00:00Z');
    expect(p.attestation?.tee).toEqual(['tdx']);
    expect(parseDatasetPolicy(JSON.stringify(p))).toEqual(p); // idempotent: the parsed form is what is signed
  });
  it('names the bad path', () => {
    expect(refusal(() => parseDatasetPolicy('obscura-policy: 1\nmin_group_size: 0\n')).message).toMatch(
      /min_group_size:/,
    );
    expect(
      refusal(() => parseDatasetPolicy('obscura-policy: 1\ncolumns: { group_by: [a], grup: [b] }\n')).message,
    ).toMatch(/columns/);
    expect(refusal(() => parseDatasetPolicy('obscura-policy: 2\n')).code).toBe('dataset_policy_invalid');
    expect(refusal(() => parseDatasetPolicy('obscura-policy: 1\nanalysts: [bob]\n')).message).toMatch(
      /analysts\[0\]/,
    );
    expect(
      refusal(() => parseDatasetPolicy('obscura-policy: 1\nattestation: { tee: [sev] }\n')).message,
    ).toMatch(/attestation\.tee/);
    expect(refusal(() => parseDatasetPolicy('obscura-policy: 1\npipelines: sometimes\n')).message).toMatch(
      /pipelines/,
    );
    expect(refusal(() => parseDatasetPolicy('a: [\n')).message).toMatch(/not valid YAML/);
  });
});

describe('column uses', () => {
  it('traces group keys, measures, join keys, derives and outputs back to input columns', () => {
    const { plan } = planOf(JOINED);
    const uses = columnUses(plan);
    const none = {
      filter: [],
      derive: [],
      group_by: [],
      join_on: [],
      aggregate: [],
      feature: [],
      label: [],
      output: [],
    };
    expect(uses['visits']).toEqual({
      ...none,
      derive: ['age'],
      group_by: ['region', 'age'],
      aggregate: ['cost'],
      join_on: ['patient_id'],
      output: ['region', 'age'],
    });
    expect(uses['labs']).toEqual({
      ...none,
      aggregate: ['hba1c'],
      join_on: ['patient_id'],
      output: ['hba1c'],
    });
  });
});

describe('enforcePolicies', () => {
  const { doc, plan, hash } = planOf(JOINED);
  const ctx = { analyst: ANALYST, pipelineHash: hash, now: NOW, doc };
  const run = (
    visits?: Partial<DatasetPolicy>,
    labs?: Partial<DatasetPolicy>,
    over: Partial<EnforceContext> = {},
  ) =>
    enforcePolicies(
      plan,
      [
        { name: 'visits', manifest: manifest('visits.csv', visits) },
        { name: 'labs', manifest: manifest('labs.csv', labs) },
      ],
      { ...ctx, ...over },
    );

  it('lets a job without policies through with the pipeline limits', () => {
    expect(run().outputs).toEqual({ by_band: 3 });
  });
  it('refuses an analyst the policy does not list', () => {
    expect(run({ analysts: [ANALYST, OTHER] }).minGroupSize).toBe(1);
    const r = refusal(() => run(undefined, { analysts: [OTHER] }));
    expect(r).toMatchObject({
      code: 'policy_analyst_not_allowed',
      status: 403,
      details: { input: 'labs', rule: 'analysts' },
    });
    expect(run({ analysts: ['*'] }).minGroupSize).toBe(1);
  });
  it("refuses a pipeline not in the list, and one awaiting its owner's approval", () => {
    expect(refusal(() => run({ pipelines: [HASH] }))).toMatchObject({
      code: 'policy_pipeline_not_allowed',
      status: 403,
      details: { input: 'visits' },
    });
    expect(run({ pipelines: [hash] }).outputs).toEqual({ by_band: 3 });
    const r = refusal(() => run({ pipelines: 'approval' }));
    expect(r).toMatchObject({
      code: 'policy_approval_required',
      status: 403,
      details: { input: 'visits', pipeline: hash, owner: OTHER },
    });
    // An approval of one input does not stand in for another input's.
    expect(
      refusal(() =>
        run({ pipelines: 'approval' }, { pipelines: 'approval' }, { approved: new Set(['visits']) }),
      ),
    ).toMatchObject({
      code: 'policy_approval_required',
      details: { input: 'labs' },
    });
    expect(
      run({ pipelines: 'approval' }, { pipelines: 'approval' }, { approved: new Set(['visits', 'labs']) })
        .outputs,
    ).toEqual({ by_band: 3 });
  });
  it('refuses each column use not allowed, naming the column and the use', () => {
    expect(refusal(() => run({ columns: { group_by: ['region'] } }))).toMatchObject({
      code: 'policy_column_not_allowed',
      status: 403,
      details: { input: 'visits', column: 'age', use: 'group_by', rule: 'columns.group_by' },
    });
    expect(refusal(() => run({ columns: { aggregate: ['age'] } })).message).toMatch(
      /column cost to be aggregated/,
    );
    expect(refusal(() => run(undefined, { columns: { join_on: ['id'] } })).message).toMatch(
      /column patient_id to be joined on/,
    );
    expect(refusal(() => run(undefined, { columns: { never_output: ['hba1c'] } })).details).toMatchObject({
      use: 'output',
      column: 'hba1c',
    });
    // A never_output column may not be derived from either (the derive comes first here).
    expect(refusal(() => run({ columns: { never_output: ['age'] } })).message).toMatch(
      /column age to be derived from \(step banded\)/,
    );
    expect(refusal(() => run({ columns: { never_output: ['region'] } })).message).toMatch(
      /column region to be output/,
    );
    // Allowed uses, and never_output of a column only joined on, pass.
    const ok = {
      group_by: ['region', 'age'],
      aggregate: ['cost'],
      join_on: ['patient_id'],
      never_output: ['patient_id'],
    };
    expect(run({ columns: ok }).outputs).toEqual({ by_band: 3 });
  });
  it('refuses after expiry and when DP is required', () => {
    expect(refusal(() => run({ expires: '2026-05-31T23:59:59Z' }))).toMatchObject({
      code: 'policy_expired',
      status: 403,
    });
    expect(run({ expires: '2027-01-01T00:00:00Z' }).expires).toBe('2027-01-01T00:00:00Z');
    expect(refusal(() => run(undefined, { dp: { required: true } }))).toMatchObject({
      code: 'policy_dp_required',
      status: 403,
      details: { input: 'labs' },
    });
    expect(run({ dp: { required: false, epsilon: 1 } }).outputs).toEqual({ by_band: 3 });
  });
  it('takes the strictest of all inputs', () => {
    const limits = run(
      { min_group_size: 5, expires: '2027-06-01T00:00:00Z' },
      { min_group_size: 20, models: { release: 'metrics' }, expires: '2027-01-01T00:00:00Z' },
    );
    expect(limits).toEqual({
      outputs: { by_band: 20 },
      minGroupSize: 20,
      modelsRelease: 'metrics',
      expires: '2027-01-01T00:00:00Z',
    });
    expect(run({ min_group_size: 2 }).outputs).toEqual({ by_band: 3 });
    expect(applyLimits(doc, limits).outputs['by_band']?.min_group_size).toBe(20);
  });
});

describe('rules that read the lineage, for every output kind', () => {
  const VISITS_ONLY = `obscura: 1
name: t
inputs:
  visits: { columns: { patient_id: string, region: string, age: int64, cost: float64, readmitted: bool } }
`;
  const enforce = (text: string, policy: Partial<DatasetPolicy>) => {
    const { doc, plan, hash } = planOf(text);
    return enforcePolicies(plan, [{ name: 'visits', manifest: manifest('visits.csv', policy) }], {
      analyst: ANALYST,
      pipelineHash: hash,
      now: NOW,
      doc,
    });
  };
  const train = (out: string) => `${VISITS_ONLY}steps:
  - id: m
    train: { from: visits, model: linear_regression, features: [age], label: cost, options: { bounds: { age: [0, 120], cost: [0, 10000] } } }
  - { id: e, evaluate: { model: m, from: visits } }
outputs: ${out}
`;

  it('dp.required refuses a train output and an evaluate output without dp', () => {
    expect(refusal(() => enforce(train('{ m: {} }'), { dp: { required: true } }))).toMatchObject({
      code: 'policy_dp_required',
      details: { output: 'm' },
    });
    expect(refusal(() => enforce(train('{ e: {} }'), { dp: { required: true } }))).toMatchObject({
      code: 'policy_dp_required',
      details: { output: 'e' },
    });
    expect(
      enforce(train('{ m: { dp: { epsilon: 1, delta: 1.0e-5 } } }'), { dp: { required: true } }).outputs,
    ).toEqual({ m: 1 });
  });
  it("max_epsilon_per_job counts DP-SGD's epsilon, and privacyCost charges it to the input", () => {
    const text = train('{ m: { dp: { epsilon: 2.5, delta: 1.0e-5 } } }');
    expect(refusal(() => enforce(text, { dp: { max_epsilon_per_job: 1 } }))).toMatchObject({
      code: 'policy_dp_per_job_exceeded',
      details: { epsilon: 2.5 },
    });
    const { doc, plan } = planOf(text);
    expect(privacyCost(doc, plan).inputs).toEqual({ visits: { epsilon: 2.5, delta: 1e-5 } });
  });
  it('charges each input only for the DP outputs its rows are behind', () => {
    const { doc, plan } = planOf(`obscura: 1
name: t
inputs:
  visits: { columns: { region: string } }
  labs: { columns: { hba1c: float64 } }
steps:
  - { id: a, aggregate: { from: visits, measures: { n: { count: "*" } } } }
  - { id: b, aggregate: { from: labs, measures: { n: { count: "*" } } } }
outputs: { a: { dp: { epsilon: 0.5 } }, b: { dp: { epsilon: 0.25 } } }
`);
    expect(privacyCost(doc, plan)).toMatchObject({
      epsilon: 0.75,
      inputs: { visits: { epsilon: 0.5 }, labs: { epsilon: 0.25 } },
    });
    expect(privacyCost(doc).inputs).toEqual({
      visits: { epsilon: 0.75, delta: 0 },
      labs: { epsilon: 0.75, delta: 0 },
    });
  });
  const filtered = (where: string, derive = 'age') => `${VISITS_ONLY}steps:
  - { id: f, filter: { from: visits, where: "${where}" } }
  - { id: d, derive: { from: f, columns: { x: "${derive}" } } }
  - { id: a, aggregate: { from: d, group_by: [region], measures: { total: { sum: cost }, xs: { sum: x } } } }
outputs: { a: {} }
`;
  it('refuses a filter or a derive reading a never_output column, and columns outside columns.filter', () => {
    const never = { columns: { never_output: ['patient_id'] } };
    expect(refusal(() => enforce(filtered("patient_id <> 'P000000-2f1134'"), never))).toMatchObject({
      code: 'policy_column_not_allowed',
      details: { column: 'patient_id', use: 'filter', rule: 'columns.never_output', step: 'f' },
    });
    expect(refusal(() => enforce(filtered('age > 0', 'length(patient_id)'), never))).toMatchObject({
      details: { column: 'patient_id', use: 'derive', step: 'd' },
    });
    expect(enforce(filtered('age > 0 AND readmitted'), never).outputs).toEqual({ a: 1 });
    const only = { columns: { filter: ['age'] } };
    expect(refusal(() => enforce(filtered('age > 0 AND readmitted'), only))).toMatchObject({
      details: { column: 'readmitted', use: 'filter', rule: 'columns.filter' },
    });
    expect(refusal(() => enforce(filtered('age > 0', 'cost'), only)).message).toMatch(
      /column cost to be derived from \(step d\)/,
    );
    expect(enforce(filtered('age > 0'), only).outputs).toEqual({ a: 1 });
  });
  const histogram = (bins: number, column = 'cost') => `${VISITS_ONLY}steps:
  - { id: a, aggregate: { from: visits, measures: { h: { histogram: ${column}, bins: ${bins}, bounds: [0, 4000] } } } }
outputs: { a: {} }
`;
  it('makes a histogram an output use of its column, and caps its bins (100 unless the policy says)', () => {
    expect(refusal(() => enforce(histogram(10), { columns: { never_output: ['cost'] } }))).toMatchObject({
      details: { column: 'cost', use: 'output' },
    });
    expect(refusal(() => enforce(histogram(10000), {}))).toMatchObject({
      code: 'policy_histogram_bins_exceeded',
      status: 403,
      details: { rule: 'max_histogram_bins', output: 'a', measure: 'h', bins: 10000, max: 100 },
    });
    expect(enforce(histogram(100), {}).outputs).toEqual({ a: 1 });
    expect(refusal(() => enforce(histogram(20), { max_histogram_bins: 10 }))).toMatchObject({
      details: { bins: 20, max: 10 },
    });
    expect(enforce(histogram(1000), { max_histogram_bins: 1000 }).outputs).toEqual({ a: 1 });
  });
});

describe('the example pipelines under the documented sample policy', () => {
  // The owners' side of policies.md: identifiers never output (so never filtered or derived
  // on), a minimum group size and the default histogram cap.
  const SAMPLE = parseDatasetPolicy(
    'obscura-policy: 1\ncolumns: { never_output: [patient_id, account_id, transaction_id] }\nmin_group_size: 10\n',
  );
  for (const [file, text] of examplePipelines()) {
    it(`${file} passes`, () => {
      const { doc, plan, hash } = planOf(text);
      const inputs = Object.keys(doc.inputs).map((name) => ({ name, manifest: manifest(name, SAMPLE) }));
      const limits = enforcePolicies(plan, inputs, { analyst: ANALYST, pipelineHash: hash, now: NOW, doc });
      for (const out of Object.keys(doc.outputs)) expect(limits.outputs[out]).toBeGreaterThanOrEqual(10);
    });
  }
});
