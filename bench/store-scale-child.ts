/**
 * One step of the store's scale bench (store-scale.ts), run in its own process so that its
 * peak resident memory is its own: `node --import tsx bench/store-scale-child.ts <step> <dir>
 * [rows]`, printing one JSON line {wall, cpu, rssMiB}. Steps: `prepare` (write the CSV in
 * 1M-row pieces, seal it with a signed manifest as `obscura seal` does, no figures), `ingest`
 * (the enclave's own check and store of an upload, its parse threads started: read the
 * sealed file, hash it, decrypt, hash the plaintext, parse it against the schema, write the
 * store — streamed a chunk at a time, as the enclave does, when the CSV is more than an
 * eighth of the default 2 GiB memory limit per job), `job` (the sample pipeline from the
 * store in one query, decrypted a chunk at a time as DuckDB scans it, cold: no room in the
 * warm cache; after one warm-up run), `copy` and `peer` (DuckDB: COPY the
 * plaintext CSV to Parquet; the same SQL on the Parquet file, after a warm-up). The join:
 * `prepare-join` (two datasets of `rows` rows each, visits and lab results, each in the
 * enclave's store and as a Parquet file; no figures), `join` (pipelines/hba1c-by-region.yaml
 * from the two stores, as the enclave runs a job over two inputs, cold: each decrypted a
 * chunk at a time as DuckDB scans it, every run), `join-warm` (the same through the warm cache, as the enclave runs a job on
 * datasets it read before: its default budget, a quarter of the 2 GiB memory limit per job,
 * filled by the warm-up) and `join-peer` (DuckDB, the same join and measures on the two
 * Parquet files), each the median of JOIN_RUNS (3) runs after a warm-up.
 */
import { appendFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { makeLabs } from '../datasets/make-labs.ts';
import { makeVisits } from '../datasets/make-visits.ts';
import { sealDataset } from '../src/cli/seal-dataset.ts';
import { accountKeyFromSuri, generateIdentity } from '../src/crypto/index.ts';
import { manifestHash, type SignedManifest } from '../src/crypto/manifest.ts';
import { warmBytes } from '../src/data/duckdb-warm.ts';
import { parseDataset, type WarmInput } from '../src/data/index.ts';
import { startCsvWorkers, stopCsvWorkers } from '../src/enclave/csv-workers.ts';
import { ingestSealedInput } from '../src/enclave/ingest.ts';
import { keepStoreFrom, storeSource } from '../src/enclave/store/open.ts';
import { streamChunkBytes, streamSealedCsv } from '../src/enclave/stream-input.ts';
import { readStoreIndex, storePathFor } from '../src/enclave/store/read.ts';
import { writeStore } from '../src/enclave/store/write.ts';
import { checkPipeline, parsePipeline, runPipeline } from '../src/pipelines/index.ts';
import { inputMemory, jobDuckdbMemory } from '../src/pipelines/limits.ts';
import { decryptedBytes } from '../src/enclave/job-memory.ts';
import type { Manifest } from '../src/crypto/manifest.ts';

const [step, dir, rowsArg] = process.argv.slice(2) as [string, string, string | undefined];
const MEASUREMENT = 'm'.repeat(64);
const H = 'c'.repeat(64);
const csv = join(dir, 'visits.csv');
const sealed = join(dir, 'visits.csv.age');
const parquet = join(dir, 'visits.parquet');
const store = join(dir, 'store');
const q = (p: string) => `'${p.replaceAll("'", "''")}'`;
const SQL = (from: string) =>
  `SELECT region, count(*) AS patients, sum(cost) AS total_cost, avg(cost) AS mean_cost, max(cost) AS max_cost FROM ${from} WHERE age >= 18 GROUP BY region HAVING count(*) >= 10 ORDER BY region`;

/** Wall and CPU seconds of `fn` (CPU of this process, DuckDB's threads included). */
async function timed(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const [t, c] = [performance.now(), process.cpuUsage()];
  await fn();
  const u = process.cpuUsage(c);
  return { wall: (performance.now() - t) / 1000, cpu: (u.user + u.system) / 1e6 };
}

/** Print the median wall and CPU seconds of `runs` runs of `fn` and this process's peak RSS. */
async function measure(
  fn: () => Promise<unknown>,
  runs = 1,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const all = [];
  for (let i = 0; i < runs; i++) all.push(await timed(fn));
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1] as number;
  const out = {
    wall: mid(all.map((x) => x.wall)),
    cpu: mid(all.map((x) => x.cpu)),
    rssMiB: process.resourceUsage().maxRSS / 1024,
    ...extra,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/** The enclave's default memory limit per job, which decides whole or streamed (stream-input.ts). */
const MEMORY = Number(process.env.STORE_SCALE_MEMORY ?? 2 * 2 ** 30);
const streamed = () => statSync(csv).size > MEMORY / 8;

const keys = (): { identity: string; recipient: string; sha: string; schema: never } =>
  JSON.parse(readFileSync(join(dir, 'keys.json'), 'utf8'));
const schemaOf = async () =>
  (await parseDataset(Buffer.from(makeVisits({ rows: 1000, seed: 1 })), 'csv')).schema;
const labsSchemaOf = async () => {
  const visits = makeVisits({ rows: 1000, seed: 1 });
  return (await parseDataset(Buffer.from(makeLabs({ visits, seed: 2, rows: 1000 })), 'csv')).schema;
};
const HL = 'd'.repeat(64);
const labsStore = join(dir, 'labs-store');
const labsParquet = join(dir, 'labs.parquet');
const JOIN_RUNS = 3;
const CLAMPED = 'least(greatest(l.hba1c, 4.0), 14.0)';
const JOIN_SQL = `SELECT v.region, v.readmitted, count(DISTINCT v.patient_id) AS patients, count(l.hba1c) AS results,
    avg(${CLAMPED}) AS mean_hba1c, quantile_cont(${CLAMPED}, 0.9) AS p90_hba1c, avg(CAST(l.hba1c >= 6.5 AS INTEGER)) AS diabetic_share
  FROM read_parquet(${q(parquet)}) v JOIN read_parquet(${q(labsParquet)}) l ON v.patient_id = l.patient_id
  WHERE v.age >= 18 GROUP BY v.region, v.readmitted HAVING count(*) >= 10 ORDER BY v.region, v.readmitted`;

if (step === 'prepare') {
  const rows = Number(rowsArg);
  writeFileSync(csv, '');
  for (let at = 0, i = 0; at < rows; at += 1_000_000, i++) {
    const text = makeVisits({ rows: Math.min(1_000_000, rows - at), seed: i + 1 });
    appendFileSync(csv, i === 0 ? text : text.slice(text.indexOf('\n') + 1));
  }
  const id = generateIdentity();
  // Sealed as `obscura seal` does, with the owner's signed manifest: the ingest step runs
  // the enclave's own check of an upload against it.
  const { signed } = await sealDataset({
    file: csv,
    out: sealed,
    owner: await accountKeyFromSuri('//StoreScaleOwner'),
    worker: { id: 'w', recipient: id.recipient },
    analysts: [],
    measurements: [MEASUREMENT],
  });
  writeFileSync(join(dir, 'keys.json'), JSON.stringify({ ...id, sha: signed.manifest.plaintext.sha256 }));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(signed));
  writeFileSync(join(dir, 'rows.json'), JSON.stringify(rows));
} else if (step === 'ingest') {
  // What the enclave does with an upload (handlers/validate-dataset.ts): a CSV over an eighth
  // of its memory limit checked and stored a chunk at a time (stream-input.ts: the
  // ciphertext hashed, then decrypted and hashed on both sides by the block threads, cut into
  // chunks of rows parsed by the parse threads while this thread writes the store), any
  // other whole (ingest.ts: decrypted whole, parsed in pieces while the store is written).
  // The parse threads are started first, as a running enclave keeps them.
  const { identity, recipient } = keys() as unknown as { identity: string; recipient: string };
  const input = {
    datasetId: 'bench',
    blobPath: sealed,
    manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as SignedManifest,
  };
  const ctx = { ageIdentity: identity, recipient, measurement: MEASUREMENT };
  await startCsvWorkers();
  await measure(async () => {
    const stored = streamed()
      ? await keepStoreFrom(input, ctx, streamSealedCsv(input, ctx, streamChunkBytes(MEMORY)))
      : (await ingestSealedInput(input, ctx)).stored;
    if (!stored) throw new Error('store not written');
  });
  await stopCsvWorkers();
} else if (step === 'job') {
  const { identity } = keys();
  const schema = await schemaOf();
  const doc = parsePipeline(
    readFileSync(new URL('../pipelines/cost-by-region.yaml', import.meta.url), 'utf8'),
  );
  const columns = checkPipeline(doc, { visits: schema }).inputs[0]?.columnsRead ?? [];
  // The store the ingest step wrote, where the enclave keeps it: beside the sealed upload.
  const signed = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as SignedManifest;
  const hash = manifestHash(signed.manifest);
  const ingested = storePathFor(sealed, hash);
  const job = async () => {
    const index = await readStoreIndex(ingested, 'bench', hash, identity);
    if (!index) throw new Error('no store');
    // As the enclave runs a job on a stored input (of any size) the warm cache has no room
    // for: one query, the store decrypted a chunk at a time as DuckDB scans it.
    const visits = storeSource(ingested, index, hash, {
      dataset: 'bench',
      ageIdentity: identity,
      schema,
      columns,
    });
    await runPipeline(doc, { visits }, { warmCacheBytes: 0, memoryLimit: jobDuckdbMemory(MEMORY) });
  };
  // A warm-up first: the enclave is a long-lived process, its code already compiled.
  await job();
  await measure(job);
} else if (step === 'prepare-join') {
  // Both datasets of `rows` rows, stored as the enclave stores an upload and written as
  // Parquet for the peer; the CSVs are not kept.
  const rows = Number(rowsArg);
  const { identity } = generateIdentity();
  const visitsText = makeVisits({ rows, seed: 1 });
  const visitsBytes = Buffer.from(visitsText);
  const labsBytes = Buffer.from(makeLabs({ visits: visitsText, seed: 2, rows }));
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  const plaintext: number[] = [];
  for (const [bytes, path, out, hash, schema] of [
    [visitsBytes, csv, parquet, H, await schemaOf()],
    [labsBytes, join(dir, 'labs.csv'), labsParquet, HL, await labsSchemaOf()],
  ] as const) {
    writeFileSync(path, bytes);
    plaintext.push(bytes.length);
    await duck.run(`COPY (FROM read_csv(${q(path)})) TO ${q(out)} (FORMAT parquet)`);
    rmSync(path);
    await writeStore(
      hash === H ? store : labsStore,
      await parseDataset(bytes, 'csv', { schema }),
      hash,
      identity,
    );
  }
  duck.closeSync();
  instance.closeSync();
  writeFileSync(join(dir, 'keys.json'), JSON.stringify({ identity }));
  writeFileSync(join(dir, 'rows.json'), JSON.stringify(rows));
  writeFileSync(join(dir, 'plaintext.json'), JSON.stringify(plaintext));
} else if (step === 'join' || step === 'join-warm') {
  const { identity } = keys();
  const [schema, labsSchema] = [await schemaOf(), await labsSchemaOf()];
  const doc = parsePipeline(
    readFileSync(new URL('../pipelines/hba1c-by-region.yaml', import.meta.url), 'utf8'),
  );
  const reads = checkPipeline(doc, { visits: schema, labs: labsSchema }).inputs;
  // As the enclave reads a stored input through its warm cache (enclave/store/open.ts): the
  // index read and checked every job, the columns decrypted only when the cache misses.
  const warm = async (path: string, hash: string, s: typeof schema, name: string): Promise<WarmInput> => {
    const index = await readStoreIndex(path, 'bench', hash, identity);
    if (!index) throw new Error('no store');
    const columns = reads.find((i) => i.name === name)?.columnsRead ?? [];
    return storeSource(path, index, hash, { dataset: 'bench', ageIdentity: identity, schema: s, columns });
  };
  const WARM_BYTES = MEMORY / 4;
  // The inputs' bound from their manifests, which the enclave checks against their share of
  // the memory limit before it reads anything (enclave/job-memory.ts).
  const rows = JSON.parse(readFileSync(join(dir, 'rows.json'), 'utf8')) as number;
  const [visitsBytes, labsBytes] = JSON.parse(readFileSync(join(dir, 'plaintext.json'), 'utf8')) as number[];
  const bound = [
    [schema, visitsBytes, 'visits'],
    [labsSchema, labsBytes, 'labs'],
  ].reduce((n, [s, bytes, name]) => {
    const manifest = { format: 'csv', schema: s, rows, plaintext: { bytes } } as unknown as Manifest;
    return n + decryptedBytes(manifest, reads.find((i) => i.name === name)?.columnsRead ?? []);
  }, 0);
  if (bound > inputMemory(MEMORY))
    throw new Error(`the enclave would refuse this join: ${bound} bytes of inputs`);
  // Cold (no room in the warm cache): each input decrypted a chunk at a time as DuckDB
  // scans it, as the enclave does; warm: through the cache, filled by the warm-up.
  const job = async () =>
    runPipeline(
      doc,
      {
        visits: await warm(store, H, schema, 'visits'),
        labs: await warm(labsStore, HL, labsSchema, 'labs'),
      },
      { warmCacheBytes: step === 'join' ? 0 : WARM_BYTES, memoryLimit: jobDuckdbMemory(MEMORY) },
    );
  await job();
  // What the warm-up left in the cache (an input over its budget is only scanned, not cached).
  await measure(job, JOIN_RUNS, {
    inputMiB: bound / 2 ** 20,
    ...(step === 'join-warm' ? { warmMiB: warmBytes() / 2 ** 20 } : {}),
  });
} else if (step === 'join-peer') {
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  await duck.runAndReadAll(JOIN_SQL);
  await measure(() => duck.runAndReadAll(JOIN_SQL), JOIN_RUNS);
  duck.closeSync();
  instance.closeSync();
} else if (step === 'copy' || step === 'peer') {
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  const sql = SQL(`read_parquet(${q(parquet)})`);
  if (step === 'peer') await duck.runAndReadAll(sql);
  await measure(() =>
    step === 'copy'
      ? duck.run(`COPY (FROM read_csv(${q(csv)})) TO ${q(parquet)} (FORMAT parquet)`)
      : duck.runAndReadAll(sql),
  );
  duck.closeSync();
  instance.closeSync();
} else {
  throw new Error(`unknown step ${step}`);
}
