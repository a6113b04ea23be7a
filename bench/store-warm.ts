/**
 * The warm cache at a larger size (STORE_BENCH_WARM_ROWS, e.g. 10,000,000; part of the
 * store bench, bench/store.ts): the sample pipeline from the store cold (decrypt + scan),
 * the first job that fills the cache, and warm jobs, each beside DuckDB running the same
 * SQL on the same rows as a Parquet file. The store is written from the parsed CSV (the
 * ingest's figures are the store section's and the scale section's).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { makeVisits } from '../datasets/make-visits.ts';
import { dropWarm, parseDataset, type WarmInput } from '../src/data/index.ts';
import { readStoreIndex } from '../src/enclave/store/read.ts';
import { storeSource } from '../src/enclave/store/open.ts';
import { writeStore } from '../src/enclave/store/write.ts';
import { checkPipeline, parsePipeline, runPipeline } from '../src/pipelines/index.ts';
import { median } from './section.ts';
import { orderFreeRows } from './store-threads.ts';

type Timer = (fn: () => Promise<unknown>) => Promise<[number, number]>;

/** Table rows (markdown) for `rows` visits in `dir`, timed by `seconds`, the peer on `duck`; a note on the order-free job's results. */
export async function warmRowsAt(
  rows: number,
  dir: string,
  identity: string,
  duck: DuckDBConnection,
  seconds: Timer,
): Promise<{ rows: string[]; note?: string }> {
  const H = 'f'.repeat(64);
  const csv = join(dir, `visits-${rows}.csv`);
  const parquet = join(dir, `visits-${rows}.parquet`);
  writeFileSync(csv, makeVisits({ rows, seed: 3 }));
  const q = (p: string) => `'${p.replaceAll("'", "''")}'`;
  await duck.run(`COPY (FROM read_csv(${q(csv)})) TO ${q(parquet)} (FORMAT parquet)`);
  const store = join(dir, `store-${rows}`);
  let schema = (await parseDataset(readFileSync(csv).subarray(0, 1 << 20), 'csv')).schema;
  {
    const parsed = await parseDataset(readFileSync(csv), 'csv', { schema });
    schema = parsed.schema;
    await writeStore(store, parsed, H, identity);
  }
  const doc = parsePipeline(
    readFileSync(new URL('../pipelines/cost-by-region.yaml', import.meta.url), 'utf8'),
  );
  const columns = checkPipeline(doc, { visits: schema }).inputs[0]?.columnsRead ?? [];
  const index = await readStoreIndex(store, 'bench', H, identity);
  if (!index) throw new Error('no store');
  const opts = { dataset: 'bench', ageIdentity: identity, schema, columns };
  const warm = (): WarmInput => storeSource(store, index, H, opts);
  const budget = { warmCacheBytes: 512 * 2 ** 20 };
  const peerSql = `SELECT region, count(*) AS patients, sum(cost) AS total_cost, avg(cost) AS mean_cost, max(cost) AS max_cost
      FROM read_parquet(${q(parquet)}) WHERE age >= 18 GROUP BY region HAVING count(*) >= 10 ORDER BY region`;
  const peer = () => seconds(() => duck.runAndReadAll(peerSql));
  const m = {
    cold: [] as [number, number][],
    fill: [] as [number, number][],
    warm: [] as [number, number][],
    coldWhole: [] as [number, number][],
    warmWhole: [] as [number, number][],
  };
  const results = new Set<string>();
  const run = async (o: Parameters<typeof runPipeline>[2]) => {
    const out = await runPipeline(doc, { visits: warm() }, o);
    if (o?.split !== false) results.add(JSON.stringify(out));
  };
  const peers: [number, number][] = [];
  await peer();
  for (let i = 0; i < 3; i++) {
    // As the enclave runs it with no room in the warm cache: chunks decrypted as DuckDB scans.
    // The cache is emptied first: a table an earlier round cached would be read warm, not cold.
    // Split in two halves (as the enclave runs it) and whole on one thread, alternating.
    dropWarm(() => true);
    m.cold.push(await seconds(() => run({ warmCacheBytes: 0 })));
    dropWarm(() => true);
    m.coldWhole.push(await seconds(() => run({ warmCacheBytes: 0, split: false })));
    dropWarm(() => true);
    m.fill.push(await seconds(() => run(budget)));
    m.warm.push(await seconds(() => run(budget)));
    m.warmWhole.push(await seconds(() => run({ ...budget, split: false })));
    peers.push(await peer());
  }
  // The order-free job at this size (bench/store-threads.ts), its columns read from the same store.
  // The cache is emptied first, so that the two-thread rounds fill it in a two-thread database:
  // left in the one-thread database the sample pipeline's rounds filled, the cache would keep
  // the order-free job there, on one thread (README, "DuckDB's threads").
  dropWarm(() => true);
  const free = await orderFreeRows(
    `${rows.toLocaleString('en')} visits`,
    {
      schema,
      parquet,
      mb: readFileSync(csv).length / 2 ** 20,
      warm: (cols) => storeSource(store, index, H, { ...opts, columns: [...cols] }),
    },
    duck,
    seconds,
    3,
  );
  dropWarm(() => true);
  const med = (xs: [number, number][]): [number, number] => [
    median(xs.map((x) => x[0])),
    median(xs.map((x) => x[1])),
  ];
  const p = med(peers);
  const mb = readFileSync(csv).length / 2 ** 20;
  const row = (what: string, [w, c]: [number, number]) =>
    `| ${what} | ${w.toFixed(3)} | ${c.toFixed(3)} | ${(mb / w).toFixed(1)} | ${(w / p[0]).toFixed(2)}× | ${(c / p[1]).toFixed(2)}× |`;
  const n = rows.toLocaleString('en');
  const table = [
    row(
      `${n} visits: job from the store, cold (not streamed in pieces: its columns fit a quarter of 2 GiB; no room in the warm cache, so a chunk at a time as DuckDB scans), split in two halves scanned at once`,
      med(m.cold),
    ),
    row(`${n} visits: the same cold job whole on one DuckDB thread (before the split)`, med(m.coldWhole)),
    row(`${n} visits: job from the store, first after the cache was emptied (fills it), split`, med(m.fill)),
    row(`${n} visits: job from the store, warm, split in two halves`, med(m.warm)),
    row(`${n} visits: the same warm job whole on one DuckDB thread (before the split)`, med(m.warmWhole)),
    row(`${n} visits: peer, DuckDB on the Parquet file`, p),
    ...free.rows,
  ];
  return {
    rows: table,
    note: `${n} visits: the split sample job gave ${results.size} distinct result(s) in 9 runs, cold, filling and warm. ${free.note}`,
  };
}
