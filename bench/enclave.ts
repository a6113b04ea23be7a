/**
 * The enclave path on a sealed 1M-row dataset: the enclave reads the ciphertext, checks it,
 * decrypts, parses, loads DuckDB and runs a filter + aggregate pipeline, then signs. Beside
 * it, in the same run: DuckDB's own read_csv running the same SQL on the plaintext CSV.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { costByRegion, sealedInput, withBenchEnclave } from './sealed-input.ts';
import { type BenchSection, median, seconds } from './section.ts';
import { signedRequestForInputs } from '../src/client/job-request.ts';

const ROWS = Number(process.env.ENCLAVE_BENCH_ROWS ?? 1_000_000);
const REGIONS = ['north', 'south', 'east', 'west', 'central'];

const PIPELINE = costByRegion('bench-cost-by-region');

const SQL = (file: string) =>
  `SELECT region, count(*) AS patients, sum(cost) AS total_cost, avg(cost) AS mean_cost, max(cost) AS max_cost
   FROM read_csv('${file}') WHERE age >= 18 GROUP BY region HAVING count(*) >= 10 ORDER BY region`;

function makeCsv(path: string): void {
  const lines = ['patient_id,region,age,cost,readmitted'];
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let i = 0; i < ROWS; i++) {
    lines.push(
      `P${i},${REGIONS[i % REGIONS.length]},${Math.floor(rnd() * 90)},${(rnd() * 5000).toFixed(2)},${rnd() < 0.1}`,
    );
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** Run the enclave pipeline benchmark. */
export async function run(): Promise<BenchSection> {
  return withBenchEnclave('obscura-bench-enclave-', async ({ dir, start }) => {
    const csv = join(dir, 'visits.csv');
    makeCsv(csv);
    const enclave = await start('bench', 'data');
    const { analyst, input } = await sealedInput(enclave, {
      accounts: 'Bench',
      file: csv,
      out: join(dir, 'visits.sealed'),
      name: 'visits',
    });
    const signed = input.manifest;
    const e = enclave;
    const obscura: number[] = [];
    const duck: number[] = [];
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    for (let i = 0; i < 3; i++) {
      const request = await signedRequestForInputs(analyst, PIPELINE, [input]);
      obscura.push(
        await seconds(() =>
          e.request('run_job', { job: { id: `bench-${i}`, request, pipeline: PIPELINE, inputs: [input] } }),
        ),
      );
      duck.push(await seconds(() => conn.runAndReadAll(SQL(csv))));
    }
    conn.closeSync();
    const o = median(obscura);
    const d = median(duck);
    const markdown = [
      `${ROWS.toLocaleString('en')} rows (${(signed.manifest.plaintext.bytes / 1e6).toFixed(0)} MB CSV), filter + aggregate by region, median of 3.`,
      '',
      '| path | seconds | rows/s | vs DuckDB on plaintext |',
      '| --- | ---: | ---: | ---: |',
      `| Obscura enclave: read sealed file, verify, decrypt, parse, load, run, sign | ${o.toFixed(2)} | ${Math.round(ROWS / o).toLocaleString('en')} | ${(o / d).toFixed(1)}× |`,
      `| DuckDB read_csv on the plaintext CSV, same SQL | ${d.toFixed(2)} | ${Math.round(ROWS / d).toLocaleString('en')} | 1.0× |`,
    ].join('\n');
    return { title: 'Sealed 1M-row pipeline in the enclave vs DuckDB on plaintext', markdown };
  });
}
