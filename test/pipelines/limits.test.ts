/**
 * Per-job limits in runPipeline (src/pipelines/limits.ts): a constant-key self-join
 * explosion fails on DuckDB's memory limit or on the deadline (DuckDB interrupted), a
 * materialised step or a model's rows over the row limit fail as rows, training stops at
 * its deadline, a cancel stops a run — each as one fixed, count-free failure — and a run
 * inside its limits gives the same result as one without them.
 */
import { describe, expect, it } from 'vitest';
import { isObscuraError } from '../../src/common/errors.ts';
import {
  duckdbMemory,
  effectiveLimits,
  JOB_LIMITS,
  JobGuard,
  parseByteSize,
} from '../../src/pipelines/limits.ts';
import { parsePipeline, runPipeline } from '../../src/pipelines/index.ts';
import { COST_BY_REGION, sampleVisits } from './fixtures.ts';

/** A key every visit shares (computed from a column, so it passes the constant-key rule), joined twice: 2,000 visits become 4·10⁶ rows, then 8·10⁹. */
const EXPLOSION = parsePipeline(`
obscura: 1
name: explosion
inputs:
  visits:
    columns: { patient_id: string, age: int64 }
steps:
  - id: keyed
    derive: { from: visits, columns: { k: "floor(age / 1000)" } }
  - id: pairs
    join: { left: keyed, right: keyed, on: [k] }
  - id: triples
    join: { left: pairs, right: keyed, on: [k] }
  - id: total
    aggregate: { from: triples, measures: { n: { count: "*" } } }
outputs:
  total: { min_group_size: 1 }
`);

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; limit: unknown }> {
  try {
    await p;
  } catch (e) {
    if (!isObscuraError(e)) throw e;
    return { code: e.code, message: e.message, limit: e.details?.limit };
  }
  throw new Error('expected the run to fail');
}

const noDigits = (m: string) => expect(m).not.toMatch(/\d/);

describe('job limits in runPipeline', () => {
  it('fails the self-join explosion on the memory limit, fast, with no count', async () => {
    const guard = new JobGuard({ timeoutMs: 60_000, maxRows: 1e9 });
    const t0 = Date.now();
    const f = await failure(
      runPipeline(
        EXPLOSION,
        { visits: await sampleVisits() },
        { guard, memoryLimit: duckdbMemory(256 * 1024 ** 2) },
      ),
    );
    guard.dispose();
    expect(f).toMatchObject({ code: 'job_limit_exceeded', limit: 'memory' });
    noDigits(f.message);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('interrupts DuckDB at the deadline', async () => {
    const guard = new JobGuard({ timeoutMs: 1_000, maxRows: 1e9 });
    const t0 = Date.now();
    const f = await failure(
      runPipeline(EXPLOSION, { visits: await sampleVisits() }, { guard, memoryLimit: '4GB' }),
    );
    expect(f).toMatchObject({ code: 'job_limit_exceeded', limit: 'time' });
    noDigits(f.message);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('stops at a cancel', async () => {
    const guard = new JobGuard({ timeoutMs: 60_000, maxRows: 1e9 });
    setTimeout(() => guard.cancel(), 500);
    const f = await failure(
      runPipeline(EXPLOSION, { visits: await sampleVisits() }, { guard, memoryLimit: '4GB' }),
    );
    guard.dispose();
    expect(f.code).toBe('job_cancelled');
  });

  it('fails a materialised step over the row limit', async () => {
    const doc = parsePipeline(`
obscura: 1
name: per-patient
inputs:
  visits:
    columns: { patient_id: string, cost: float64 }
steps:
  - id: per_patient
    aggregate: { from: visits, group_by: [patient_id], measures: { total: { sum: cost } } }
outputs:
  per_patient: { min_group_size: 1 }
`);
    const visits = await sampleVisits();
    const over = new JobGuard({ timeoutMs: 60_000, maxRows: visits.rows - 1 });
    const f = await failure(runPipeline(doc, { visits }, { guard: over }));
    over.dispose();
    expect(f).toMatchObject({ code: 'job_limit_exceeded', limit: 'rows' });
    noDigits(f.message);
    const at = new JobGuard({ timeoutMs: 60_000, maxRows: visits.rows });
    const out = await runPipeline(doc, { visits }, { guard: at });
    at.dispose();
    expect(out.per_patient?.rows.length).toBe(visits.rows);
  });

  it("bounds a model's rows, read from DuckDB or straight from the input", async () => {
    const visits = await sampleVisits();
    const model = (from: string) =>
      parsePipeline(`
obscura: 1
name: model
inputs:
  visits:
    columns: { age: int64, cost: float64, readmitted: bool }
steps:
  - id: with_cost
    filter: { from: visits, where: "cost IS NOT NULL" }
  - id: m
    train: { from: ${from}, model: logistic_regression, features: [age, cost], label: readmitted, options: { epochs: 1 } }
outputs:
  m: { min_group_size: 10 }
`);
    for (const from of ['with_cost', 'visits']) {
      const guard = new JobGuard({ timeoutMs: 60_000, maxRows: 100 });
      const f = await failure(runPipeline(model(from), { visits }, { guard }));
      guard.dispose();
      expect(f, from).toMatchObject({ code: 'job_limit_exceeded', limit: 'rows' });
    }
  });

  it('stops training at the deadline', async () => {
    const doc = parsePipeline(`
obscura: 1
name: slow-model
inputs:
  visits:
    columns: { age: int64, cost: float64, readmitted: bool }
steps:
  - id: m
    train: { from: visits, model: mlp, features: [age, cost], label: readmitted, options: { epochs: 10000, batch_size: 8, patience: 10000 } }
outputs:
  m: { min_group_size: 10 }
`);
    const guard = new JobGuard({ timeoutMs: 1_500, maxRows: 1e9 });
    const t0 = Date.now();
    const f = await failure(runPipeline(doc, { visits: await sampleVisits() }, { guard }));
    expect(f).toMatchObject({ code: 'job_limit_exceeded', limit: 'time' });
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('changes nothing for a run inside its limits', async () => {
    const visits = await sampleVisits();
    const guard = new JobGuard({ timeoutMs: 60_000, maxRows: 1e6 });
    const limited = await runPipeline(
      parsePipeline(COST_BY_REGION),
      { visits },
      { guard, memoryLimit: duckdbMemory(256 * 1024 ** 2) },
    );
    guard.dispose();
    expect(limited).toEqual(await runPipeline(parsePipeline(COST_BY_REGION), { visits }));
  });
});

describe('limit settings', () => {
  it('reads sizes as DuckDB does', () => {
    expect(parseByteSize('2GB')).toBe(2e9);
    expect(parseByteSize('512 MiB')).toBe(512 * 1024 ** 2);
    expect(parseByteSize('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseByteSize('1048576')).toBe(1048576);
    for (const bad of ['', 'lots', '-1GB', '2 GBs', '1e9']) expect(parseByteSize(bad), bad).toBeUndefined();
    expect(duckdbMemory(300 * 1024 ** 2)).toBe('300MiB');
  });

  it('fills in defaults and clamps what the host gives to the allowed ranges', () => {
    expect(effectiveLimits()).toEqual({
      timeoutMs: JOB_LIMITS.timeoutMs.default,
      maxRows: JOB_LIMITS.maxRows.default,
      memoryBytes: JOB_LIMITS.memoryBytes.default,
    });
    // A host cannot make a limit a fine-grained count, nor switch one off.
    expect(effectiveLimits({ maxRows: 10, timeoutMs: 1, memoryBytes: 1 })).toEqual({
      timeoutMs: JOB_LIMITS.timeoutMs.min,
      maxRows: JOB_LIMITS.maxRows.min,
      memoryBytes: JOB_LIMITS.memoryBytes.min,
    });
    expect(effectiveLimits({ maxRows: 1e15, timeoutMs: 1e12, memoryBytes: 1e18 })).toEqual({
      timeoutMs: JOB_LIMITS.timeoutMs.max,
      maxRows: JOB_LIMITS.maxRows.max,
      memoryBytes: JOB_LIMITS.memoryBytes.max,
    });
  });
});
