/**
 * The enclave's columnar store against DuckDB on Parquet. Ingest: the enclave's side of an
 * upload (decrypt the sealed CSV, parse and check it, write the encrypted column chunks)
 * beside DuckDB `COPY (FROM read_csv(plaintext)) TO parquet`. Job: the sample pipeline
 * (filter + aggregate, 3 of 6 columns) read from the store (decrypt only those columns'
 * chunks, load, run) beside DuckDB running the same SQL on the Parquet file. Also the same
 * job streamed from the sealed CSV (the larger-than-memory path). STORE_BENCH_ROWS rows
 * (default 1M); median of 3 runs after a warm-up; the machine is shared, so the load
 * average is given.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { makeLabs } from '../datasets/make-labs.ts';
import { makeVisits } from '../datasets/make-visits.ts';
import { sha256Hex } from '../src/common/hash.ts';
import { sealDataset } from '../src/cli/seal-dataset.ts';
import {
  accountKeyFromSuri,
  decryptToBuffer,
  encryptToBuffer,
  generateIdentity,
} from '../src/crypto/index.ts';
import { csvChunks } from '../src/data/csv-chunks.ts';
import { dropWarm, type ParsedDataset, parseDataset, type WarmInput } from '../src/data/index.ts';
import { startCsvWorkers, stopCsvWorkers } from '../src/enclave/csv-workers.ts';
import { ingestSealedInput } from '../src/enclave/ingest.ts';
import { readStoreIndex, readStorePieces } from '../src/enclave/store/read.ts';
import { storeSource } from '../src/enclave/store/open.ts';
import { writeStore } from '../src/enclave/store/write.ts';
import { checkPipeline, parsePipeline, runPipeline } from '../src/pipelines/index.ts';
import { runStreaming } from '../src/pipelines/partials/stream.ts';
import { type BenchSection, median } from './section.ts';
import { orderFreeRows } from './store-threads.ts';
import { warmRowsAt } from './store-warm.ts';

/** Wall and CPU seconds of `fn` (CPU of this process: DuckDB's threads included). */
async function seconds(fn: () => Promise<unknown>): Promise<[number, number]> {
  const [t, c] = [performance.now(), process.cpuUsage()];
  await fn();
  const u = process.cpuUsage(c);
  return [(performance.now() - t) / 1000, (u.user + u.system) / 1e6];
}

const RUNS = 3;
const H = 'c'.repeat(64);

/** Run the benchmark and report it as a BENCHMARKS.md section. */
export async function run(): Promise<BenchSection> {
  const rows = Number(process.env.STORE_BENCH_ROWS ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'obscura-bench-store-'));
  try {
    const csvPath = join(dir, 'visits.csv');
    const parquet = join(dir, 'visits.parquet');
    writeFileSync(csvPath, makeVisits({ rows, seed: 1 }));
    const plain = readFileSync(csvPath);
    const keys = generateIdentity();
    const sealed = await encryptToBuffer([keys.recipient], plain);
    const doc = parsePipeline(
      readFileSync(new URL('../pipelines/cost-by-region.yaml', import.meta.url), 'utf8'),
    );
    const store = join(dir, 'store');
    const schema = (await parseDataset(plain, 'csv')).schema;
    const instance = await DuckDBInstance.create(':memory:');
    const duck = await instance.connect();
    const q = (p: string) => `'${p.replaceAll("'", "''")}'`;
    const peerSql = `SELECT region, count(*) AS patients, sum(cost) AS total_cost, avg(cost) AS mean_cost, max(cost) AS max_cost
      FROM read_parquet(${q(parquet)}) WHERE age >= 18 GROUP BY region HAVING count(*) >= 10 ORDER BY region`;

    // The enclave's work on an upload: both hashes checked, the CSV parsed against the
    // owner-signed schema (no type inference), the store written. Each span is timed too.
    const spans: Record<string, [number, number][]> = { decrypt: [], hash: [], parse: [], write: [] };
    const span = async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
      let out: T | undefined;
      (spans[name] as [number, number][]).push(
        await seconds(async () => {
          out = await fn();
        }),
      );
      return out as T;
    };
    const plainSha = sha256Hex(plain);
    const ingest = () =>
      seconds(async () => {
        await span('hash', () => sha256Hex(sealed));
        const bytes = await span('decrypt', () => decryptToBuffer([keys.identity], sealed));
        if ((await span('hash', () => sha256Hex(bytes))) !== plainSha) throw new Error('plaintext hash');
        const data = await span('parse', () => parseDataset(bytes, 'csv', { schema }));
        bytes.fill(0);
        await span('write', () => writeStore(store, data, H, keys.identity));
      });
    // The enclave's own path (enclave/ingest.ts, what validate_dataset runs): the sealed file
    // with its signed manifest, decrypted and hashed by the block threads, parsed in pieces by
    // the parse threads while this thread writes the store. The parse threads are started
    // first, as a running enclave keeps them after its first upload.
    const sealedPath = join(dir, 'visits.age');
    const { signed } = await sealDataset({
      file: csvPath,
      out: sealedPath,
      owner: await accountKeyFromSuri('//StoreBenchOwner'),
      worker: { id: 'w', recipient: keys.recipient },
      analysts: [],
      measurements: ['m'.repeat(64)],
    });
    const sealedInput = { datasetId: 'bench', blobPath: sealedPath, manifest: signed };
    const enclaveCtx = { ageIdentity: keys.identity, recipient: keys.recipient, measurement: 'm'.repeat(64) };
    await startCsvWorkers();
    const enclaveIngest = () =>
      seconds(async () => {
        const { stored } = await ingestSealedInput(sealedInput, enclaveCtx);
        if (!stored) throw new Error('store not written');
      });
    const copy = () =>
      seconds(() => duck.run(`COPY (FROM read_csv(${q(csvPath)})) TO ${q(parquet)} (FORMAT parquet)`));
    const columns = checkPipeline(doc, { visits: schema }).inputs[0]?.columnsRead ?? [];
    // The enclave's cold job (a dataset the warm cache has no room for, or with the cache
    // off): the store decrypted a chunk at a time on its threads while DuckDB scans it.
    const job = async (split = true) =>
      seconds(async () =>
        runPipeline(
          doc,
          { visits: await warmInput(store, H, schema, columns) },
          { warmCacheBytes: 0, ...(split ? {} : { split: false }) },
        ),
      );
    // The same job through the warm cache (data/duckdb-warm.ts), as the enclave runs it: the
    // store's index read and checked, then DuckDB's cached table when the cache holds the
    // columns, else the store read and copied into the cache first. `drop` empties the cache
    // first (the first job on a dataset after a start, a revocation or an eviction).
    const WARM_BYTES = 512 * 2 ** 20;
    const warmInput = async (
      path: string,
      hash: string,
      s: typeof schema,
      cols: readonly string[],
    ): Promise<WarmInput> => {
      const index = await readStoreIndex(path, 'bench', hash, keys.identity);
      if (!index) throw new Error('no store');
      // As store/open.ts gives it: a first job reads the store as DuckDB copies it.
      return storeSource(path, index, hash, {
        dataset: 'bench',
        ageIdentity: keys.identity,
        schema: s,
        columns: cols,
      });
    };
    // Results by mode: 0 split in two halves (as the enclave runs it), else whole on that
    // many DuckDB threads. Split or whole on one thread, every run agrees.
    const results: Record<number, Set<string>> = { 0: new Set(), 1: new Set(), 2: new Set() };
    const runsAt: Record<number, number> = { 0: 0, 1: 0, 2: 0 };
    const warmJob = (drop: boolean, threads = 0) =>
      seconds(async () => {
        if (drop) dropWarm(() => true);
        const visits = await warmInput(store, H, schema, columns);
        const how = threads === 0 ? {} : { threads, split: false };
        const out = await runPipeline(doc, { visits }, { warmCacheBytes: WARM_BYTES, ...how });
        results[threads]?.add(JSON.stringify(out));
        runsAt[threads] = (runsAt[threads] ?? 0) + 1;
      });
    const peer = () => seconds(() => duck.runAndReadAll(peerSql));
    const streamed = () =>
      seconds(async () => {
        const { Readable } = await import('node:stream');
        const { decryptStream } = await import('../src/crypto/index.ts');
        const dec = Readable.from([sealed]).pipe(decryptStream([keys.identity]));
        async function* chunks() {
          for await (const c of csvChunks(dec, 8 * 1024 * 1024)) yield parseDataset(c, 'csv', { schema });
        }
        await runStreaming(doc, schema, chunks());
      });

    // The larger-than-memory path from the store: pieces of a sixteenth of a 2 GiB memory limit
    // in the CSV's bytes per row, as a streamed job reads them (about 2.9M rows a piece).
    const storeStreamed = () =>
      seconds(async () => {
        const index = await readStoreIndex(store, 'bench', H, keys.identity);
        if (!index) throw new Error('no store');
        const opts = { dataset: 'bench', ageIdentity: keys.identity, schema, columns };
        const perPiece = Math.floor((2 * 2 ** 30) / 16 / (plain.length / rows));
        await runStreaming(doc, schema, readStorePieces(store, index, opts, perPiece));
      });
    // A join of two owners' datasets from the store (pipelines/hba1c-by-region.yaml: adult
    // visits ⨝ lab results on patient_id, row ids per input for suppression) beside DuckDB
    // joining the two Parquet files with the same measures.
    const labsPlain = Buffer.from(makeLabs({ visits: plain.toString('utf8'), seed: 2, rows }));
    const labsCsv = join(dir, 'labs.csv');
    const labsParquet = join(dir, 'labs.parquet');
    writeFileSync(labsCsv, labsPlain);
    const labsSchema = (await parseDataset(labsPlain, 'csv')).schema;
    const labsStore = join(dir, 'labs-store');
    const HL = 'd'.repeat(64);
    await writeStore(
      labsStore,
      await parseDataset(labsPlain, 'csv', { schema: labsSchema }),
      HL,
      keys.identity,
    );
    await duck.run(`COPY (FROM read_csv(${q(labsCsv)})) TO ${q(labsParquet)} (FORMAT parquet)`);
    const joinDoc = parsePipeline(
      readFileSync(new URL('../pipelines/hba1c-by-region.yaml', import.meta.url), 'utf8'),
    );
    const joinReads = checkPipeline(joinDoc, { visits: schema, labs: labsSchema }).inputs;
    const readsOf = (name: string) => joinReads.find((i) => i.name === name)?.columnsRead ?? [];
    const warmJoin = () =>
      seconds(async () => {
        const inputs: Record<string, ParsedDataset | WarmInput> = {
          visits: await warmInput(store, H, schema, readsOf('visits')),
          labs: await warmInput(labsStore, HL, labsSchema, readsOf('labs')),
        };
        await runPipeline(joinDoc, inputs, { warmCacheBytes: WARM_BYTES });
      });
    // Cold, as the enclave runs it with no room in the warm cache: each input decrypted a
    // chunk at a time as DuckDB scans it.
    const joinJob = () =>
      seconds(async () => {
        const inputs = {
          visits: await warmInput(store, H, schema, readsOf('visits')),
          labs: await warmInput(labsStore, HL, labsSchema, readsOf('labs')),
        };
        await runPipeline(joinDoc, inputs, { warmCacheBytes: 0 });
      });
    const clamped = 'least(greatest(l.hba1c, 4.0), 14.0)';
    const joinPeerSql = `SELECT v.region, v.readmitted, count(DISTINCT v.patient_id) AS patients, count(l.hba1c) AS results,
        avg(${clamped}) AS mean_hba1c, quantile_cont(${clamped}, 0.9) AS p90_hba1c, avg(CAST(l.hba1c >= 6.5 AS INTEGER)) AS diabetic_share
      FROM read_parquet(${q(parquet)}) v JOIN read_parquet(${q(labsParquet)}) l ON v.patient_id = l.patient_id
      WHERE v.age >= 18 GROUP BY v.region, v.readmitted HAVING count(*) >= 10 ORDER BY v.region, v.readmitted`;
    const joinPeer = () => seconds(() => duck.runAndReadAll(joinPeerSql));

    await ingest();
    await enclaveIngest();
    await copy();
    await job();
    await peer();
    await joinJob();
    await joinPeer();
    const m = {
      ingest: [] as [number, number][],
      enclaveIngest: [] as [number, number][],
      copy: [] as [number, number][],
      job: [] as [number, number][],
      jobWhole: [] as [number, number][],
      warmWhole: [] as [number, number][],
      peer: [] as [number, number][],
      stream: [] as [number, number][],
      storeStream: [] as [number, number][],
      join: [] as [number, number][],
      joinPeer: [] as [number, number][],
      warm: [] as [number, number][],
      fill: [] as [number, number][],
      warmJoin: [] as [number, number][],
      warmPeer: [] as [number, number][],
      warmJoinPeer: [] as [number, number][],
    };
    for (const k of Object.keys(spans)) spans[k] = [];
    // Each kind of work runs its rounds together (alternating with its peer), the work that
    // leaves the most garbage (ingest, the streamed CSV job) in rounds of its own, so that no
    // job is charged the collector's work on an ingest's buffers.
    // The enclave's ingest alternates with COPY only: the span-by-span ingest on one thread
    // leaves a whole parsed dataset and store write of garbage, whose collection (V8's
    // concurrent marking, on the helper threads this process's CPU time counts) fell on the
    // enclave ingest that followed it when they shared rounds.
    for (let i = 0; i < RUNS; i++) {
      m.enclaveIngest.push(await enclaveIngest());
      m.copy.push(await copy());
    }
    for (let i = 0; i < RUNS; i++) m.ingest.push(await ingest());
    for (let i = 0; i < RUNS; i++) {
      m.job.push(await job());
      m.jobWhole.push(await job(false));
      m.peer.push(await peer());
    }
    for (let i = 0; i < RUNS; i++) {
      m.fill.push(await warmJob(true));
      m.warm.push(await warmJob(false));
      m.warmWhole.push(await warmJob(false, 1));
      m.warmPeer.push(await peer());
    }
    // The same warm job on two DuckDB threads (its own database, filled by the first run).
    const THREADED_RUNS = 3 * RUNS;
    await warmJob(false, 2);
    const threaded: [number, number][] = [];
    const threadedPeer: [number, number][] = [];
    for (let i = 0; i < THREADED_RUNS; i++) {
      threaded.push(await warmJob(false, 2));
      if (i < RUNS) threadedPeer.push(await peer());
    }
    for (let i = 0; i < THREADED_RUNS - RUNS; i++) await warmJob(false, 1);
    // An order-free job, which the enclave runs on two threads (bench/store-threads.ts).
    const warmFor = (cols: readonly string[]) => warmInput(store, H, schema, cols);
    const free = await orderFreeRows(
      `${(rows / 1e6).toLocaleString('en')}M visits`,
      { schema, parquet, warm: warmFor, mb: plain.length / 2 ** 20 },
      duck,
      seconds,
      RUNS,
    );
    for (let i = 0; i < RUNS; i++) m.storeStream.push(await storeStreamed());
    for (let i = 0; i < RUNS; i++) {
      m.join.push(await joinJob());
      m.joinPeer.push(await joinPeer());
    }
    await warmJoin();
    for (let i = 0; i < RUNS; i++) {
      m.warmJoin.push(await warmJoin());
      m.warmJoinPeer.push(await joinPeer());
    }
    dropWarm(() => true);
    for (let i = 0; i < RUNS; i++) m.stream.push(await streamed());
    const bigRows = Number(process.env.STORE_BENCH_WARM_ROWS ?? 0);
    const big: { rows: string[]; note?: string } =
      bigRows > 0 ? await warmRowsAt(bigRows, dir, keys.identity, duck, seconds) : { rows: [] };
    duck.closeSync();
    instance.closeSync();
    await stopCsvWorkers();
    const mb = plain.length / 2 ** 20;
    const med = (xs: [number, number][]): [number, number] => [
      median(xs.map((x) => x[0])),
      median(xs.map((x) => x[1])),
    ];
    const [ingestS, copyS, jobS, peerS, streamS] = [
      med(m.ingest),
      med(m.copy),
      med(m.job),
      med(m.peer),
      med(m.stream),
    ];
    const cpuOf = (name: string, per = 1) => {
      const xs = (spans[name] ?? []).map((x) => x[1]);
      const sums = [];
      for (let i = 0; i < xs.length; i += per) sums.push(xs.slice(i, i + per).reduce((a, b) => a + b, 0));
      return median(sums).toFixed(3);
    };
    const row = (what: string, [w, c]: [number, number], [pw, pc]: [number, number], unit: number) =>
      `| ${what} | ${w.toFixed(3)} | ${c.toFixed(3)} | ${(unit / w).toFixed(1)} | ${(w / pw).toFixed(2)}× | ${(c / pc).toFixed(2)}× |`;
    return {
      title: 'Enclave store: ingest and a job from encrypted column chunks (vs DuckDB and Parquet)',
      markdown: [
        `${rows.toLocaleString('en')} synthetic visits (${mb.toFixed(1)} MiB of CSV, 6 columns), sample pipeline \`pipelines/cost-by-region.yaml\` (filter + aggregate, reads 3 columns). Median of ${RUNS} runs; load average ${loadavg()[0]?.toFixed(1)} on a shared machine (wall time includes waiting for a core; CPU time counts this process's threads, DuckDB's included, so the peer's several threads add up).`,
        '',
        '| work | wall s | CPU s | MiB/s (wall) | wall vs peer | CPU vs peer |',
        '| --- | ---: | ---: | ---: | ---: | ---: |',
        row(
          "ingest, the enclave's path: hash + decrypt the sealed CSV + hash (block threads), parse against the schema in pieces (parse threads) while the store's encrypted column chunks are written",
          med(m.enclaveIngest),
          copyS,
          mb,
        ),
        row(
          'the same work on one thread, span by span (hash, decrypt, hash, parse, write: the spans below)',
          ingestS,
          copyS,
          mb,
        ),
        row('peer: DuckDB `COPY read_csv → parquet` on the plaintext', copyS, copyS, mb),
        row(
          'job from the store, cold (no room in the warm cache): the 3 columns decrypted a chunk at a time as DuckDB scans them + filter + aggregate + suppress, split in two halves of the rows scanned and aggregated at once (src/pipelines/split.ts)',
          jobS,
          peerS,
          mb,
        ),
        row('the same cold job whole, on one DuckDB thread (before the split)', med(m.jobWhole), peerS, mb),
        row(
          'job from the store, first after the cache was emptied (which closes its DuckDB: a fresh one starts): decrypt a chunk at a time as DuckDB copies it into the warm cache + run',
          med(m.fill),
          med(m.warmPeer),
          mb,
        ),
        row(
          'job from the store, warm: the columns cached as DuckDB tables in enclave memory + run, split in two halves',
          med(m.warm),
          med(m.warmPeer),
          mb,
        ),
        row(
          'the same warm job whole, on one DuckDB thread (before the split)',
          med(m.warmWhole),
          med(m.warmPeer),
          mb,
        ),
        row(
          'the same warm job whole, with DuckDB on 2 threads (not reproducible: see below)',
          med(threaded),
          med(threadedPeer),
          mb,
        ),
        ...free.rows,
        row(
          'job streamed from the sealed CSV in 8 MiB chunks (larger-than-memory path, no store)',
          streamS,
          peerS,
          mb,
        ),
        row(
          'the same job from the store in pieces merged as partial aggregates (the larger-than-memory path before a stored input was read in one query, a chunk at a time: the cold row)',
          med(m.storeStream),
          peerS,
          mb,
        ),
        row('peer: DuckDB, same SQL on the Parquet file', peerS, peerS, mb),
        row(
          `join from the store: visits ⨝ ${rows.toLocaleString('en')} lab results (\`hba1c-by-region\`, 6 columns of two datasets, row ids per input), cold: each input decrypted a chunk at a time as DuckDB scans it`,
          med(m.join),
          med(m.joinPeer),
          mb + labsPlain.length / 2 ** 20,
        ),
        row(
          'peer: DuckDB, the same join and measures on the two Parquet files',
          med(m.joinPeer),
          med(m.joinPeer),
          mb + labsPlain.length / 2 ** 20,
        ),
        row(
          'join from the store, warm (both inputs cached)',
          med(m.warmJoin),
          med(m.warmJoinPeer),
          mb + labsPlain.length / 2 ** 20,
        ),
        row(
          'peer: DuckDB, the same join, measured beside the warm join',
          med(m.warmJoinPeer),
          med(m.warmJoinPeer),
          mb + labsPlain.length / 2 ** 20,
        ),
        ...big.rows,
        '',
        "Ingest ≥ 0.8× the peer's speed means a ratio ≤ 1.25× here; a job ≤ 1.3× DuckDB on Parquet is the target.",
        '',
        "The jobs' DuckDB is kept warm between jobs, as in a running enclave (the warm-up job starts it). Each kind of work runs its rounds together, alternating with its peer, so that no job is charged the collector's work on an ingest's garbage.",
        '',
        `Threads: the job split in two halves gave ${results[0]?.size} distinct result(s) in ${runsAt[0]} runs (warm and filling), whole on one DuckDB thread ${results[1]?.size} in ${runsAt[1]}, whole on two threads ${results[2]?.size} in ${runsAt[2]}${(results[2]?.size ?? 0) > 1 ? '' : ' (they agreed this time)'}: DuckDB's parallel aggregation adds each thread's partial float sums in whatever order the threads finish, so sums and means may differ in their last bits from run to run (counts, integer sums, min and max cannot), and a published result could not be reproduced. So the enclave never runs such a query on two DuckDB threads: it splits the job in two halves of the rows, each summed on one thread in row order, merged half A then half B (README.md, "DuckDB's threads"), and runs a job whole on two threads only when its result cannot depend on the order of the rows and it cannot split (a quantile), as the order-free rows show. ${free.note}${big.note ? ` ${big.note}` : ''}`,
        '',
        "Cold and warm: a cold job decrypts its columns from the store and hands them to DuckDB; the enclave keeps the decrypted columns a job read as DuckDB in-memory tables (the warm cache, within the job memory limit, at most a quarter of it by default; dropped on revocation and hand-over), so a later job over the same dataset reads them as DuckDB reads its own tables. The warm rows are the enclave's steady state for datasets in use; the cold row is a job on a dataset not read since the enclave started (or evicted). The peer reads its Parquet file from a warm page cache and decodes it every query. The first job after the cache was emptied pays the copy into it (an upload also fills the cache when it has room, so the first job after an upload is warm).",
        '',
        `Where the time goes (median CPU s of each span, on one thread): ingest = hashes ${cpuOf('hash', 2)} + decrypt ${cpuOf('decrypt')} + CSV parse ${cpuOf('parse')} + store write ${cpuOf('write')} (dictionary-encode few-valued strings, encode, seal, write, fsync). A cold job's store read and DuckDB's scan overlap (the store's threads decrypt the next chunks while DuckDB works on one), so they are not timed apart.`,
      ].join('\n'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
