/**
 * Dataset policies: parsing (errors name the path), each refusal code of enforcePolicies,
 * the column uses derived from a pipeline, and the strictest of several inputs.
 */
import { describe, expect, it } from 'vitest';
import { isObscuraError } from '../../src/common/errors.ts';
import type { Manifest } from '../../src/crypto/manifest.ts';
import { checkPipeline, declaredSchemas, parsePipeline, pipelineHash } from '../../src/pipelines/index.ts';
import { applyLimits, columnUses, type DatasetPolicy, type EnforceContext, enforcePolicies, parseDatasetPolicy } from '../../src/privacy/index.ts';

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

function refusal(fn: () => unknown): { code: string; status: number; message: string; details?: Record<string, unknown> } {
  try {
    fn();
  } catch (e) {
    if (isObscuraError(e)) return { code: e.code, status: e.status, message: e.message, ...(e.details ? { details: e.details } : {}) };
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
    expect(refusal(() => parseDatasetPolicy('obscura-policy: 1\nmin_group_size: 0\n')).message).toMatch(/min_group_size:/);
    expect(refusal(() => parseDatasetPolicy('obscura-policy: 1\ncolumns: { group_by: [a], grup: [b] }\n')).message).toMatch(/columns/);
    expect(refusal(() => parseDatasetPolicy('obscura-policy: 2\n')).code).toBe('dataset_policy_invalid');
    expect(refusal(() => parseDatasetPolicy('obscura-policy: 1\nanalysts: [bob]\n')).message).toMatch(/analysts\[0\]/);
    expect(refusal(() => parseDatasetPolicy('obscura-policy: 1\nattestation: { tee: [sev] }\n')).message).toMatch(/attestation\.tee/);
    expect(refusal(() => parseDatasetPolicy('obscura-policy: 1\npipelines: sometimes\n')).message).toMatch(/pipelines/);
    expect(refusal(() => parseDatasetPolicy('a: [\n')).message).toMatch(/not valid YAML/);
  });
});

describe('column uses', () => {
  it('traces group keys, measures, join keys and outputs back to input columns', () => {
    const { doc, plan } = planOf(JOINED);
    const uses = columnUses(plan, doc);
    expect(uses['visits']).toEqual({ group_by: ['region', 'age'], aggregate: ['cost'], join_on: ['patient_id'], output: ['region', 'age'] });
    expect(uses['labs']).toEqual({ group_by: [], aggregate: ['hba1c'], join_on: ['patient_id'], output: ['hba1c'] });
  });
});

describe('enforcePolicies', () => {
  const { doc, plan, hash } = planOf(JOINED);
  const ctx = { analyst: ANALYST, pipelineHash: hash, now: NOW, doc };
  const run = (visits?: Partial<DatasetPolicy>, labs?: Partial<DatasetPolicy>, over: Partial<EnforceContext> = {}) =>
    enforcePolicies(plan, [{ name: 'visits', manifest: manifest('visits.csv', visits) }, { name: 'labs', manifest: manifest('labs.csv', labs) }], { ...ctx, ...over });

  it('lets a job without policies through with the pipeline limits', () => {
    expect(run().outputs).toEqual({ by_band: 3 });
  });
  it('refuses an analyst the policy does not list', () => {
    expect(run({ analysts: [ANALYST, OTHER] }).minGroupSize).toBe(1);
    const r = refusal(() => run(undefined, { analysts: [OTHER] }));
    expect(r).toMatchObject({ code: 'policy_analyst_not_allowed', status: 403, details: { input: 'labs', rule: 'analysts' } });
    expect(run({ analysts: ['*'] }).minGroupSize).toBe(1);
  });
  it('refuses a pipeline not in the list, and one awaiting its owner\'s approval', () => {
    expect(refusal(() => run({ pipelines: [HASH] }))).toMatchObject({ code: 'policy_pipeline_not_allowed', status: 403, details: { input: 'visits' } });
    expect(run({ pipelines: [hash] }).outputs).toEqual({ by_band: 3 });
    const r = refusal(() => run({ pipelines: 'approval' }));
    expect(r).toMatchObject({ code: 'policy_approval_required', status: 403, details: { input: 'visits', pipeline: hash, owner: OTHER } });
    // An approval of one input does not stand in for another input's.
    expect(refusal(() => run({ pipelines: 'approval' }, { pipelines: 'approval' }, { approved: new Set(['visits']) }))).toMatchObject({
      code: 'policy_approval_required',
      details: { input: 'labs' },
    });
    expect(run({ pipelines: 'approval' }, { pipelines: 'approval' }, { approved: new Set(['visits', 'labs']) }).outputs).toEqual({ by_band: 3 });
  });
  it('refuses each column use not allowed, naming the column and the use', () => {
    expect(refusal(() => run({ columns: { group_by: ['region'] } }))).toMatchObject({
      code: 'policy_column_not_allowed',
      status: 403,
      details: { input: 'visits', column: 'age', use: 'group_by', rule: 'columns.group_by' },
    });
    expect(refusal(() => run({ columns: { aggregate: ['age'] } })).message).toMatch(/column cost to be aggregated/);
    expect(refusal(() => run(undefined, { columns: { join_on: ['id'] } })).message).toMatch(/column patient_id to be joined on/);
    expect(refusal(() => run(undefined, { columns: { never_output: ['hba1c'] } })).details).toMatchObject({ use: 'output', column: 'hba1c' });
    expect(refusal(() => run({ columns: { never_output: ['age'] } })).message).toMatch(/column age to be output/);
    // Allowed uses, and never_output of a column only joined on, pass.
    const ok = { group_by: ['region', 'age'], aggregate: ['cost'], join_on: ['patient_id'], never_output: ['patient_id'] };
    expect(run({ columns: ok }).outputs).toEqual({ by_band: 3 });
  });
  it('refuses after expiry and when DP is required', () => {
    expect(refusal(() => run({ expires: '2026-05-31T23:59:59Z' }))).toMatchObject({ code: 'policy_expired', status: 403 });
    expect(run({ expires: '2027-01-01T00:00:00Z' }).expires).toBe('2027-01-01T00:00:00Z');
    expect(refusal(() => run(undefined, { dp: { required: true } }))).toMatchObject({ code: 'policy_dp_required', status: 403, details: { input: 'labs' } });
    expect(run({ dp: { required: false, epsilon: 1 } }).outputs).toEqual({ by_band: 3 });
  });
  it('takes the strictest of all inputs', () => {
    const limits = run({ min_group_size: 5, expires: '2027-06-01T00:00:00Z' }, { min_group_size: 20, models: { release: 'metrics' }, expires: '2027-01-01T00:00:00Z' });
    expect(limits).toEqual({ outputs: { by_band: 20 }, minGroupSize: 20, modelsRelease: 'metrics', expires: '2027-01-01T00:00:00Z' });
    expect(run({ min_group_size: 2 }).outputs).toEqual({ by_band: 3 });
    expect(applyLimits(doc, limits).outputs['by_band']?.min_group_size).toBe(20);
  });
});
