/**
 * runPipeline end to end on the sample data: results, suppression, ordering, value
 * conversion, progress, sanitised failures — and the marker patient id never appearing in
 * any output, error or progress message.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { MARKER_PATIENT_ID } from '../../datasets/make-visits.ts';
import { parseDataset } from '../../src/data/index.ts';
import {
  type PipelineDocument,
  parsePipeline,
  runPipeline,
  runPipelineOnBytes,
} from '../../src/pipelines/index.ts';
import { COST_BY_REGION, caught, sampleVisits, VISITS_PATH } from './fixtures.ts';

/** A one-input pipeline over the sample visits with the given steps and outputs. */
function pipeline(
  steps: unknown[],
  outputs: Record<string, unknown>,
  columns?: Record<string, string>,
): PipelineDocument {
  return parsePipeline(
    JSON.stringify({
      obscura: 1,
      name: 'test',
      inputs: {
        visits: {
          columns: columns ?? {
            patient_id: 'string',
            region: 'string',
            age: 'int64',
            cost: 'float64',
            readmitted: 'bool',
            visit_date: 'date',
          },
        },
      },
      steps,
      outputs,
    }),
  );
}

describe('runPipeline', () => {
  it('runs the sample pipeline, suppressing the rare region', async () => {
    const messages: [number, string][] = [];
    const out = await runPipeline(
      parsePipeline(COST_BY_REGION),
      { visits: await sampleVisits() },
      { onProgress: (f, m) => messages.push([f, m]) },
    );
    const r = out.by_region;
    expect(r?.columns).toEqual([
      { name: 'region', type: 'string' },
      { name: 'patients', type: 'int64' },
      { name: 'total_cost', type: 'float64' },
      { name: 'mean_cost', type: 'float64' },
      { name: 'max_cost', type: 'float64' },
    ]);
    expect(r?.rows.map((row) => row[0])).toEqual(['central', 'east', 'north', 'south', 'west']);
    expect(r?.suppressedGroups).toBe(1);
    expect(r?.minGroupSize).toBe(10);
    expect(r?.rows.every((row) => typeof row[1] === 'number' && (row[1] as number) >= 10)).toBe(true);
    // Progress is monotonic, ends at 1 and says nothing about the data.
    expect(messages.map(([f]) => f)).toEqual([...messages.map(([f]) => f)].sort((a, b) => a - b));
    expect(messages.at(-1)?.[0]).toBe(1);
    expect(JSON.stringify({ out, messages })).not.toContain(MARKER_PATIENT_ID);
  });

  it('reports the same progress for any data of the same schema: units of the plan, never rows', async () => {
    const progressOf = async (data: Awaited<ReturnType<typeof sampleVisits>>) => {
      const messages: [number, string][] = [];
      await runPipeline(
        parsePipeline(COST_BY_REGION),
        { visits: data },
        { onProgress: (f, m) => messages.push([f, m]) },
      );
      return messages;
    };
    const all = await sampleVisits();
    const lines = readFileSync(VISITS_PATH, 'utf8').trim().split('\n');
    const few = await parseDataset(Buffer.from(`${lines.slice(0, 40).join('\n')}\n`), 'csv', {
      schema: all.schema,
    });
    const full = await progressOf(all);
    expect(await progressOf(few)).toEqual(full);
    expect(full).toEqual([
      [0, 'pipeline checked'],
      [0, 'loading input visits'],
      [1 / 3, 'running step by_region'],
      [2 / 3, 'computing output by_region'],
      [1, 'done'],
    ]);
  });

  it('suppresses a group of one patient without revealing it', async () => {
    const doc = pipeline(
      [
        { id: 'one', filter: { from: 'visits', where: `patient_id = '${MARKER_PATIENT_ID}'` } },
        {
          id: 'agg',
          aggregate: {
            from: 'one',
            group_by: ['region'],
            measures: { n: { count: '*' }, c: { max: 'cost' } },
          },
        },
      ],
      { agg: { min_group_size: 2 } },
    );
    const out = await runPipeline(doc, { visits: await sampleVisits() });
    expect(out.agg).toMatchObject({ rows: [], suppressedGroups: 1, minGroupSize: 2 });
  });

  it('handles empty inputs, global aggregates, null keys, bools, dates and bounds', async () => {
    const doc = pipeline(
      [
        { id: 'none', filter: { from: 'visits', where: 'age < 0' } },
        { id: 'by_none', aggregate: { from: 'none', group_by: ['region'], measures: { n: { count: '*' } } } },
        { id: 'total_none', aggregate: { from: 'none', measures: { n: { count: '*' } } } },
        {
          id: 'total',
          aggregate: {
            from: 'visits',
            measures: {
              n: { count: '*' },
              costs: { count: 'cost' },
              ages: { sum: 'age' },
              first: { min: 'visit_date' },
            },
          },
        },
        {
          id: 'by_flag',
          aggregate: {
            from: 'visits',
            group_by: ['readmitted'],
            measures: {
              n: { count: '*' },
              clamped: { sum: 'cost', bounds: [0, 1000] },
              young: { max: 'age', bounds: [0, 30] },
              rate: { mean: 'readmitted' },
            },
          },
        },
        {
          id: 'nullable',
          filter: { from: 'visits', where: "CASE WHEN cost IS NULL THEN TRUE ELSE region = 'east' END" },
        },
        {
          id: 'by_cost',
          aggregate: { from: 'nullable', group_by: ['cost'], measures: { n: { count: '*' } } },
        },
      ],
      { by_none: {}, total_none: {}, total: {}, by_flag: {}, by_cost: {} },
    );
    const out = await runPipeline(doc, { visits: await sampleVisits() });
    expect(out.by_none).toMatchObject({ rows: [], suppressedGroups: 0 });
    // A global aggregate over no rows is one group of zero rows: below any min_group_size.
    expect(out.total_none).toMatchObject({ rows: [], suppressedGroups: 1, minGroupSize: 1 });
    expect(out.total?.rows).toHaveLength(1);
    const [n, costs, ages, first] = (out.total?.rows[0] ?? []) as [number, number, number, string];
    expect(n).toBe(2000);
    expect(costs).toBeLessThan(2000);
    expect(Number.isInteger(ages)).toBe(true);
    const dates = readFileSync(VISITS_PATH, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',')[5] as string);
    expect(first).toBe(dates.sort()[0]);
    expect(out.by_flag?.columns.map((c) => c.type)).toEqual(['bool', 'int64', 'float64', 'int64', 'float64']);
    expect(out.by_flag?.rows.map((r) => r[0])).toEqual([false, true]);
    for (const row of out.by_flag?.rows ?? []) {
      expect(row[2] as number).toBeLessThanOrEqual(1000 * (row[1] as number));
      expect(row[3]).toBe(30);
    }
    expect(out.by_flag?.rows.map((r) => r[4])).toEqual([0, 1]);
    expect(out.by_cost?.rows[0]?.[0]).toBeNull(); // nulls sort first
  });

  it('gives the same result from CSV, Parquet and Arrow inputs', async () => {
    const csv = await sampleVisits();
    const dir = mkdtempSync(join(tmpdir(), 'obscura-run-'));
    try {
      const instance = await DuckDBInstance.create(':memory:');
      const c = await instance.connect();
      await c.run(
        `COPY (SELECT * FROM read_csv('${VISITS_PATH}')) TO '${join(dir, 'v.parquet')}' (FORMAT PARQUET)`,
      );
      c.closeSync();
      instance.closeSync();
      const parquet = await parseDataset(readFileSync(join(dir, 'v.parquet')), 'parquet');
      const arrow = await parseDataset(tableToIPC(csv.table, 'stream'), 'arrow');
      const doc = parsePipeline(COST_BY_REGION);
      const expected = await runPipeline(doc, { visits: csv });
      expect(await runPipeline(doc, { visits: parquet })).toEqual(expected);
      expect(await runPipeline(doc, { visits: arrow })).toEqual(expected);
      expect(await runPipelineOnBytes(readFileSync(VISITS_PATH), 'csv', doc)).toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives NULL, not a failure, where a value is outside a function's domain", async () => {
    // A failure that depends on the rows would tell which rows there are (test/adversary/failure-oracle.test.ts).
    const doc = pipeline(
      [
        { id: 'odd', filter: { from: 'visits', where: 'ln(cost - cost) IS NULL AND patient_id <> region' } },
        { id: 'agg', aggregate: { from: 'odd', measures: { n: { count: '*' } } } },
      ],
      { agg: {} },
    );
    const out = await runPipeline(doc, { visits: await sampleVisits() });
    const all = await runPipeline(
      pipeline([{ id: 'agg', aggregate: { from: 'visits', measures: { n: { count: '*' } } } }], { agg: {} }),
      { visits: await sampleVisits() },
    );
    expect(out.agg?.rows).toEqual(all.agg?.rows);
  });

  it('checks before it loads anything', async () => {
    const doc = parsePipeline(COST_BY_REGION);
    await caught(async () => runPipeline(doc, {}), 'pipeline_unknown_input');
    await caught(
      async () => runPipeline(doc, { visits: await sampleVisits(), other: await sampleVisits() }),
      'pipeline_unknown_input',
    );
    const two = parsePipeline(
      COST_BY_REGION.replace('inputs:\n', 'inputs:\n  other: { columns: { x: string } }\n'),
    );
    await caught(() => runPipelineOnBytes(new Uint8Array(), 'csv', two), 'pipeline_unknown_input');
  });

  it('quotes any column name, even one that looks like SQL or a placeholder', async () => {
    const name = 'we"ird $1; DROP TABLE input_0 --';
    const data = await parseDataset(
      new TextEncoder().encode(`"we""ird $1; DROP TABLE input_0 --",x\na,1\na,2\nb,3\n`),
      'csv',
    );
    const doc = parsePipeline(
      JSON.stringify({
        obscura: 1,
        name: 'odd',
        inputs: { t: { columns: { [name]: 'string', x: 'int64' } } },
        steps: [
          { id: 'f', filter: { from: 't', where: 'x >= 1 AND x < 10' } },
          {
            id: 'g',
            aggregate: {
              from: 'f',
              group_by: [name],
              measures: { n: { count: '*' }, s: { sum: 'x', bounds: [0, 2] } },
            },
          },
        ],
        outputs: { g: {} },
      }),
    );
    const out = await runPipeline(doc, { t: data });
    expect(out.g?.columns.map((c) => c.name)).toEqual([name, 'n', 's']);
    expect(out.g?.rows).toEqual([
      ['a', 2, 3],
      ['b', 1, 2],
    ]);
  });

  it('aggregates of aggregates, several outputs', async () => {
    const doc = pipeline(
      [
        {
          id: 'per_region',
          aggregate: { from: 'visits', group_by: ['region', 'readmitted'], measures: { n: { count: '*' } } },
        },
        { id: 'big', filter: { from: 'per_region', where: 'n >= 20' } },
        {
          id: 'summary',
          aggregate: {
            from: 'big',
            group_by: ['readmitted'],
            measures: { regions: { count: '*' }, visits: { sum: 'n' } },
          },
        },
      ],
      { per_region: { min_group_size: 10 }, summary: {} },
    );
    const out = await runPipeline(doc, { visits: await sampleVisits() });
    expect(Object.keys(out)).toEqual(['per_region', 'summary']);
    expect(out.per_region?.suppressedGroups).toBeGreaterThan(0);
    expect(out.summary?.rows.map((r) => r[0])).toEqual([false, true]);
  });
  it('keeps document names apart from table names, and quotes odd names through join and derive', async () => {
    const odd = 'k"ey $1; DROP TABLE input_0 --';
    const a = await parseDataset(
      new TextEncoder().encode(`"${odd.replaceAll('"', '""')}",x\na,1\na,2\nb,3\n`),
      'csv',
    );
    const b = await parseDataset(
      new TextEncoder().encode(`"${odd.replaceAll('"', '""')}",y\na,10\nb,20\nb,30\n`),
      'csv',
    );
    const doc = parsePipeline(
      JSON.stringify({
        obscura: 1,
        name: 'names',
        // Inputs named like the internal tables, in the opposite order, and a step named like one.
        inputs: {
          input_1: { columns: { [odd]: 'string', x: 'int64' } },
          input_0: { columns: { [odd]: 'string', y: 'int64' } },
        },
        steps: [
          { id: 'step_1', join: { left: 'input_1', right: 'input_0', on: [odd], how: 'inner' } },
          { id: 'step_0', derive: { from: 'step_1', columns: { 'x"y; --': 'x * 100 + y' } } },
          {
            id: 'g',
            aggregate: {
              from: 'step_0',
              group_by: [odd],
              measures: { n: { count: '*' }, s: { sum: 'x"y; --' } },
            },
          },
        ],
        outputs: { g: {} },
      }),
    );
    const out = await runPipeline(doc, { input_1: a, input_0: b });
    expect(out.g?.columns.map((c) => c.name)).toEqual([odd, 'n', 's']);
    expect(out.g?.rows).toEqual([
      ['a', 2, 100 + 10 + 200 + 10],
      ['b', 2, 300 + 20 + 300 + 30],
    ]);
  });

  it("runs a derive whose values fall outside ln's domain after a join", async () => {
    const labs = await parseDataset(readFileSync(new URL('../../datasets/labs.csv', import.meta.url)), 'csv');
    const doc = parsePipeline(
      JSON.stringify({
        obscura: 1,
        name: 'nulls',
        inputs: {
          visits: { columns: { patient_id: 'string', cost: 'float64' } },
          labs: { columns: { patient_id: 'string', ldl: 'float64' } },
        },
        steps: [
          { id: 'j', join: { left: 'visits', right: 'labs', on: ['patient_id'] } },
          { id: 'd', derive: { from: 'j', columns: { bad: 'ln(ldl - ldl)', root: 'sqrt(0 - ldl)' } } },
          {
            id: 'agg',
            aggregate: {
              from: 'd',
              measures: { n: { count: '*' }, bad: { count: 'bad' }, root: { count: 'root' } },
            },
          },
        ],
        outputs: { agg: {} },
      }),
    );
    const out = await runPipeline(doc, { visits: await sampleVisits(), labs });
    const row = out.agg?.rows[0] as unknown[];
    expect(row.slice(1)).toEqual([0, 0]);
    expect(row[0]).toBeGreaterThan(0);
  });
});
