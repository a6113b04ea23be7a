/**
 * Benchmark: sealing and unsealing with Obscura's age implementation against the `age`
 * tool (https://age-encryption.org/v1) and raw node:crypto ChaCha20-Poly1305, measured on
 * the same random file in the same run.
 *
 * Rounds alternate the contenders so that load from other processes on a shared machine
 * falls on all of them alike; each figure is the median over the rounds. The file is
 * SEAL_BENCH_MB (default 1024, the 1 GiB the targets name) MiB in os.tmpdir(); every temporary file is removed at the end.
 * A second file, SEAL_BENCH_ROWS (default 2,000,000) synthetic visit rows of CSV, measures
 * what `obscura seal` does after attestation (`sealDataset`: schema and row count, seal,
 * signed manifest) against `age -r` on the same CSV.
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { makeVisits } from '../datasets/make-visits.ts';
import { sealDataset } from '../src/cli/seal-dataset.ts';
import {
  accountKeyFromSuri,
  decryptStream,
  encryptStream,
  generateIdentity,
  sealFile,
} from '../src/crypto/index.ts';
import { type BenchSection, median, seconds } from './section.ts';

const MiB = 1024 * 1024;
const ROUNDS = Number(process.env.SEAL_BENCH_ROUNDS ?? 3);

/** Write `mb` MiB of random bytes to `path`, 4 MiB at a time. */
async function randomFile(path: string, mb: number): Promise<void> {
  const out = createWriteStream(path);
  for (let i = 0; i < mb; i += 4) {
    const chunk = randomBytes(Math.min(4, mb - i) * MiB);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

/** Whether the `age` tool is on PATH. */
function hasAge(): boolean {
  return spawnSync('age', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Run the `age` tool; throws with its stderr when it fails. */
function age(args: string[]): void {
  const r = spawnSync('age', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`age ${args[0]} failed: ${r.stderr?.toString().trim()}`);
}

/** Raw ChaCha20-Poly1305 over `data` in 64 KiB chunks (the ceiling for any age payload code). */
function rawChaCha(data: Buffer): void {
  const key = randomBytes(32);
  const nonce = Buffer.alloc(12);
  for (let off = 0, i = 0; off < data.length; off += 64 * 1024, i++) {
    nonce.writeUInt32BE(i, 7);
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    cipher.update(data.subarray(off, off + 64 * 1024));
    cipher.final();
    cipher.getAuthTag();
  }
}

const nullSink = (): Writable => new Writable({ write: (_chunk, _enc, cb) => cb() });

/** Run the benchmark and return its BENCHMARKS.md section. */
export async function run(): Promise<BenchSection> {
  const mb = Number(process.env.SEAL_BENCH_MB ?? 1024);
  // The machine may be shared: say how busy it was, since every figure here is wall time.
  const load = loadavg()[0] as number;
  const dir = await mkdtemp(join(tmpdir(), 'obscura-seal-bench-'));
  const plain = join(dir, 'plain.bin');
  const ours = join(dir, 'ours.age');
  const theirs = join(dir, 'theirs.age');
  const keyFile = join(dir, 'key.txt');
  const withAge = hasAge();
  const times = {
    seal: [] as number[],
    encrypt: [] as number[],
    unseal: [] as number[],
    ageEnc: [] as number[],
    ageDec: [] as number[],
    raw: [] as number[],
    dataset: [] as number[],
    ageCsv: [] as number[],
  };
  const rows = Number(process.env.SEAL_BENCH_ROWS ?? 2_000_000);
  const csv = join(dir, 'visits.csv');
  let csvBytes = 0;
  try {
    await randomFile(plain, mb);
    const { identity, recipient } = generateIdentity();
    await writeFile(keyFile, `${identity}\n`, { mode: 0o600 });
    const data = await readFile(plain);
    const visits = makeVisits({ rows });
    csvBytes = Buffer.byteLength(visits);
    await writeFile(csv, visits);
    const owner = await accountKeyFromSuri('//BenchSealOwner');
    for (let round = 0; round < ROUNDS; round++) {
      times.seal.push(await seconds(() => sealFile(plain, ours, [recipient])));
      if (withAge) times.ageEnc.push(await seconds(() => age(['-r', recipient, '-o', theirs, plain])));
      times.unseal.push(
        await seconds(() =>
          pipeline(createReadStream(ours, { highWaterMark: MiB }), decryptStream([identity]), nullSink()),
        ),
      );
      if (withAge)
        times.ageDec.push(await seconds(() => age(['-d', '-i', keyFile, '-o', '/dev/null', theirs])));
      times.encrypt.push(
        await seconds(() =>
          pipeline(
            createReadStream(plain, { highWaterMark: MiB }),
            encryptStream([recipient]),
            createWriteStream(ours),
          ),
        ),
      );
      times.raw.push(await seconds(() => rawChaCha(data)));
      times.dataset.push(
        await seconds(() =>
          sealDataset({
            file: csv,
            out: join(dir, 'visits.csv.age'),
            owner,
            worker: { id: 'bench', recipient },
            analysts: [],
            measurements: [],
          }),
        ),
      );
      if (withAge) times.ageCsv.push(await seconds(() => age(['-r', recipient, '-o', theirs, csv])));
      if (process.env.SEAL_BENCH_VERBOSE) {
        const last = Object.entries(times).map(
          ([k, v]) => `${k} ${v.length ? ((mb * MiB) / 1e6 / (v.at(-1) as number)).toFixed(0) : '-'}`,
        );
        process.stderr.write(`round ${round + 1}: ${last.join(', ')} MB/s\n`);
      }
    }
    // Cross-check while the files exist: each side opens the other's output.
    if (withAge) {
      age(['-d', '-i', keyFile, '-o', '/dev/null', ours]);
      await pipeline(createReadStream(theirs, { highWaterMark: MiB }), decryptStream([identity]), nullSink());
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const rate = (xs: number[]): number | null => (xs.length ? (mb * MiB) / 1e6 / median(xs) : null);
  const fmt = (x: number | null): string => (x === null ? '—' : x.toFixed(0));
  const ratio = (a: number | null, b: number | null): string =>
    a !== null && b !== null ? `${(a / b).toFixed(2)}×` : '—';
  const ageNote = withAge
    ? ''
    : ' The `age` tool is not installed (`apt-get install age`), so its column is empty.';
  // The third column is undefined where the age tool has no counterpart.
  const csvRate = (xs: number[]): number | null => (xs.length ? csvBytes / 1e6 / median(xs) : null);
  const table: [string, number | null, number | null | undefined][] = [
    [
      'seal: `sealFile`, file to file, with both SHA-256 commitments — vs `age -r`',
      rate(times.seal),
      rate(times.ageEnc),
    ],
    [
      'encrypt only: `encryptStream`, file to file, no hashing — vs `age -r`',
      rate(times.encrypt),
      rate(times.ageEnc),
    ],
    [
      'unseal: `decryptStream`, file to a null sink — vs `age -d -o /dev/null`',
      rate(times.unseal),
      rate(times.ageDec),
    ],
    [
      'raw node:crypto chacha20-poly1305 over the same bytes, 64 KiB chunks, in memory',
      rate(times.raw),
      undefined,
    ],
    [
      `seal a ${rows.toLocaleString('en-US')}-row CSV (${(csvBytes / 1e6).toFixed(0)} MB): \`sealDataset\` (schema, row count, seal, signed manifest) — vs \`age -r\` on the same CSV`,
      csvRate(times.dataset),
      csvRate(times.ageCsv),
    ],
  ];
  const markdown = [
    `${mb} MiB random file in ${tmpdir()}; median of ${ROUNDS} rounds that alternate the contenders; MB/s = 10^6 plaintext bytes a second; 1-minute load average ${load.toFixed(1)} at the start.${ageNote}`,
    '',
    '| operation | Obscura MB/s | `age` tool MB/s | Obscura / age |',
    '| --- | ---: | ---: | ---: |',
    ...table.map(([name, a, b]) => {
      const theirs = b === undefined ? '—' : withAge ? fmt(b) : 'not installed';
      return `| ${name} | ${fmt(a)} | ${theirs} | ${ratio(a, b ?? null)} |`;
    }),
  ].join('\n');
  return { title: 'Sealing (age format)', markdown };
}
