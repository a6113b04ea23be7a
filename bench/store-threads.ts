/**
 * An order-free job on the enclave's DuckDB threads (part of the store bench, bench/store.ts
 * and bench/store-warm.ts): a pipeline whose every measure is exact in any row order (counts,
 * an integer mean and sum, min, max: src/pipelines/threads.ts), warm, as the enclave runs it
 * (split in two halves merged, src/pipelines/split.ts: its measures all merge exactly), and
 * whole on two DuckDB threads and on one, each beside DuckDB running the same SQL on the
 * Parquet file with all its threads; and how many distinct results the runs gave (one, or
 * the rule is wrong).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { type DatasetSchema, dropWarm, type WarmInput } from '../src/data/index.ts';
import { checkPipeline, jobThreads, parsePipeline, runPipeline } from '../src/pipelines/index.ts';
import { median } from './section.ts';

type Timer = (fn: () => Promise<unknown>) => Promise<[number, number]>;

/** Adult visits by region: all order-free (two threads). */
export const ORDER_FREE = parsePipeline(`obscura: 1
name: visits-by-region
inputs:
  visits:
    columns: { region: string, age: int64, cost: float64, readmitted: bool }
steps:
  - id: adults
    filter: { from: visits, where: "age >= 18" }
  - id: by_region
    aggregate:
      from: adults
      group_by: [region]
      measures:
        patients:    { count: "*" }
        mean_age:    { mean: age }
        readmitted:  { sum: readmitted }
        min_cost:    { min: cost }
        max_cost:    { max: cost }
outputs:
  by_region:
    min_group_size: 10
`);

/** What the bench needs of its dataset: its schema, its Parquet copy's path, a warm input for `columns`. */
export interface ThreadsBenchData {
  schema: DatasetSchema;
  parquet: string;
  warm: (columns: readonly string[]) => Promise<WarmInput> | WarmInput;
  /** MiB of CSV, for the MiB/s column. */
  mb: number;
}

/** Table rows (markdown) for the order-free job at `label`, and a note on its results. */
export async function orderFreeRows(
  label: string,
  data: ThreadsBenchData,
  duck: DuckDBConnection,
  seconds: Timer,
  runs: number,
): Promise<{ rows: string[]; note: string }> {
  const plan = checkPipeline(ORDER_FREE, { visits: data.schema });
  const columns = plan.inputs[0]?.columnsRead ?? [];
  const threads = jobThreads(plan);
  const q = (p: string) => `'${p.replaceAll("'", "''")}'`;
  const peerSql = `SELECT region, count(*) AS patients, avg(age) AS mean_age, sum(CAST(readmitted AS INTEGER)) AS readmitted,
      min(cost) AS min_cost, max(cost) AS max_cost
    FROM read_parquet(${q(data.parquet)}) WHERE age >= 18 GROUP BY region HAVING count(*) >= 10 ORDER BY region`;
  const peer = () => seconds(() => duck.runAndReadAll(peerSql));
  // Modes: 0 split (as the enclave runs it), else whole on that many threads.
  const results: Record<number, Set<string>> = { 0: new Set(), 1: new Set(), [threads]: new Set() };
  const job = (t: number) =>
    seconds(async () => {
      const visits = await data.warm(columns);
      const how = t === 0 ? {} : { threads: t, split: false };
      const out = await runPipeline(ORDER_FREE, { visits }, { warmCacheBytes: 512 * 2 ** 20, ...how });
      results[t]?.add(JSON.stringify(out));
    });
  // Each mode in rounds of its own, the cache emptied first so that the round's first run fills
  // it in that mode's database: a cache left in the one-thread database by the split rounds
  // keeps a later job there, on one thread (data/duckdb.ts WarmPreference.serial), and the
  // "whole on two threads" rounds would run on one.
  const m: Record<number, [number, number][]> = { 0: [], 1: [], [threads]: [] };
  const peers: [number, number][] = [];
  for (const t of [0, threads, 1]) {
    dropWarm(() => true);
    await job(t);
    for (let i = 0; i < runs; i++) {
      m[t]?.push(await job(t));
      peers.push(await peer());
    }
  }
  const med = (xs: [number, number][]): [number, number] => [
    median(xs.map((x) => x[0])),
    median(xs.map((x) => x[1])),
  ];
  const p = med(peers);
  const row = (what: string, [w, c]: [number, number]) =>
    `| ${what} | ${w.toFixed(3)} | ${c.toFixed(3)} | ${(data.mb / w).toFixed(1)} | ${(w / p[0]).toFixed(2)}× | ${(c / p[1]).toFixed(2)}× |`;
  const all = new Set([...(results[0] ?? []), ...(results[1] ?? []), ...(results[threads] ?? [])]);
  return {
    rows: [
      row(
        `${label}: order-free job (count, integer mean and sum, min, max by region), warm, split in two halves on two connections of a one-thread DuckDB, as the enclave runs it`,
        med(m[0] ?? []),
      ),
      row(
        `${label}: the same order-free job, warm, whole on ${threads} DuckDB thread(s)`,
        med(m[threads] ?? []),
      ),
      row(`${label}: the same order-free job, warm, whole on 1 DuckDB thread`, med(m[1] ?? [])),
      row(`${label}: peer, DuckDB (all threads), the same SQL on the Parquet file`, p),
    ],
    note: `${label}: the order-free job gave ${all.size} distinct result(s) in ${3 * (runs + 1)} runs, split, whole on ${threads} thread(s) and whole on one.`,
  };
}
