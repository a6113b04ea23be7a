/**
 * Training in the enclave beside the same TensorFlow.js code outside it: 20 epochs of
 * logistic regression and of a 2×64 MLP on N×20 rows (ML_BENCH_ROWS, default 1M), (a) as
 * an Obscura job on the sealed dataset (read, verify, decrypt, parse, extract from Arrow,
 * encode, train, sign), (b) outside Obscura on the plaintext file: read it, parse it with
 * the same CSV → Arrow parser, train with src/ml's trainModel — the peer the enclave's
 * overhead is judged against, since anyone training on a CSV file must read it — and (c)
 * the same trainModel on columns already in memory, the lower bound. Same run, same
 * backend; logistic regression takes the median of a few rounds, the paths in turn. Rows
 * per second are rows × epochs / s. Peak memory is the process's
 * high-water mark (VmHWM): the enclave process's, and this process's for the plaintext paths.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDataset } from '../src/data/index.ts';
import { openOutputs } from '../src/contracts/result-outputs.ts';
import { mlBackend } from '../src/ml/backend.ts';
import { modelColumn } from '../src/ml/columns.ts';
import type { DataColumn } from '../src/ml/encode.ts';
import { TRAIN_DEFAULTS, trainModel } from '../src/ml/train.ts';
import { sealedInput, withBenchEnclave } from './sealed-input.ts';
import { type BenchSection, median, seconds } from './section.ts';
import { signedRequestForInputs } from '../src/client/job-request.ts';

const ROWS = Number(process.env.ML_BENCH_ROWS ?? 1_000_000);
const FEATURES = 20;
// ML_BENCH_EPOCHS and ML_BENCH_ROUNDS are for quick looks; the figure is 20 epochs.
const EPOCHS = Number(process.env.ML_BENCH_EPOCHS ?? 20);
const ROUNDS = Number(process.env.ML_BENCH_ROUNDS ?? 3);

function peakMiB(pid: number | string): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** N rows of 20 features and a label that depends on them (seeded). */
function makeData(): { csv: string; columns: DataColumn[] } {
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const values: number[][] = Array.from({ length: FEATURES + 1 }, () => new Array<number>(ROWS));
  const lines = [[...Array.from({ length: FEATURES }, (_, j) => `x${j}`), 'y'].join(',')];
  for (let i = 0; i < ROWS; i++) {
    let z = 0;
    const row: string[] = [];
    for (let j = 0; j < FEATURES; j++) {
      const x = Math.round((rnd() * 2 - 1) * 1000) / 1000;
      (values[j] as number[])[i] = x;
      z += (j % 3 === 0 ? 1 : -0.5) * x;
      row.push(String(x));
    }
    const y = rnd() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    (values[FEATURES] as number[])[i] = y;
    row.push(y ? 'true' : 'false');
    lines.push(row.join(','));
  }
  const columns = values.map((v, j) => ({
    name: j < FEATURES ? `x${j}` : 'y',
    type: j < FEATURES ? 'float64' : 'bool',
    values: j < FEATURES ? v : v.map((b) => b === 1),
  }));
  return { csv: `${lines.join('\n')}\n`, columns };
}

const pipeline = (model: string, hidden: string) => `obscura: 1
name: bench-${model}
inputs: { data: { columns: { ${[...Array.from({ length: FEATURES }, (_, j) => `x${j}: float64`), 'y: bool'].join(', ')} } } }
steps:
  - id: m
    train:
      from: data
      model: ${model}
      features: [${Array.from({ length: FEATURES }, (_, j) => `x${j}`).join(', ')}]
      label: y
      options: { solver: sgd, epochs: ${EPOCHS}, batch_size: 1024, learning_rate: 0.01, validation_split: 0.1, patience: ${EPOCHS}${hidden} }
outputs: { m: { min_group_size: 10 } }
`;

/** Run the ML benchmark. */
export async function run(): Promise<BenchSection> {
  return withBenchEnclave('obscura-bench-ml-', async ({ dir, start }) => {
    const { csv, columns } = makeData();
    const file = join(dir, 'data.csv');
    writeFileSync(file, csv);
    const enclave = await start('bench-ml');
    const { analyst, input } = await sealedInput(enclave, {
      accounts: 'BenchMl',
      file,
      out: join(dir, 'data.sealed'),
      name: 'data',
    });
    const signed = input.manifest;
    const backend = await mlBackend();
    const lines: string[] = [];
    for (const [label, model, hidden, kind, rounds] of [
      ['logistic regression', 'logistic_regression', '', 'logistic_regression', ROUNDS],
      ['MLP 2×64 (relu)', 'mlp', ', hidden_units: [64, 64]', 'mlp', 1],
    ] as const) {
      let enclaveBackend = '';
      const options = {
        ...TRAIN_DEFAULTS,
        epochs: EPOCHS,
        batchSize: 1024,
        validationSplit: 0.1,
        patience: EPOCHS,
        ...(hidden ? { hiddenUnits: [64, 64] } : {}),
      };
      const paths = {
        enclave: async () => {
          const request = await signedRequestForInputs(analyst, pipeline(model, hidden), [input]);
          const r = await enclave.request('run_job', {
            job: { id: `bench-${model}`, request, pipeline: pipeline(model, hidden), inputs: [input] },
          });
          if ('signed' in r)
            enclaveBackend =
              (
                await openOutputs(
                  r.signed.result,
                  r.ciphertext ? Buffer.from(r.ciphertext, 'base64') : undefined,
                  analyst,
                )
              ).m?.model?.backend ?? '';
          else throw new Error(`bench: the enclave refused the ${model} job`);
        },
        fromFile: async () => {
          const data = await parseDataset(readFileSync(file), 'csv', { schema: signed.manifest.schema });
          const cols = data.schema.map((c) => ({
            name: c.name,
            type: c.type,
            values: modelColumn(data.table.getChild(c.name), c.type, data.rows, (v) => v),
          }));
          await trainModel({
            step: 'm',
            kind,
            features: cols.slice(0, FEATURES),
            label: cols[FEATURES] as DataColumn,
            options,
          });
        },
        inMemory: () =>
          trainModel({
            step: 'm',
            kind,
            features: columns.slice(0, FEATURES),
            label: columns[FEATURES] as DataColumn,
            options,
          }),
      };
      const order = Object.keys(paths) as (keyof typeof paths)[];
      const times: Record<keyof typeof paths, number[]> = { enclave: [], fromFile: [], inMemory: [] };
      // Rounds rotate which path goes first, so a drift in the machine's speed falls on each alike.
      for (let r = 0; r < rounds; r++) {
        for (let k = 0; k < order.length; k++) {
          const path = order[(r + k) % order.length] as keyof typeof paths;
          times[path].push(await seconds(paths[path]));
        }
      }
      const enclavePeak = peakMiB(enclave.pid as number);
      const [inEnclave, fromFile, inMemory] = [
        median(times.enclave),
        median(times.fromFile),
        median(times.inMemory),
      ];
      const rate = (s: number) => Math.round((ROWS * EPOCHS) / s).toLocaleString('en-US');
      const ratio = (s: number) => `${(inEnclave / s).toFixed(2)}×`;
      const runs = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
      lines.push(
        `| ${label} | Obscura job on the sealed file (${enclaveBackend}) | ${inEnclave.toFixed(1)} | ${runs(times.enclave)} | ${rate(inEnclave)} | ${ratio(fromFile)} | ${ratio(inMemory)} | ${enclavePeak.toFixed(0)} |`,
        `| ${label} | peer: plaintext file, same parser, same tfjs code (${backend}) | ${fromFile.toFixed(1)} | ${runs(times.fromFile)} | ${rate(fromFile)} | 1.00× | ${(fromFile / inMemory).toFixed(2)}× | ${peakMiB('self').toFixed(0)} |`,
        `| ${label} | same tfjs code on columns already in memory (${backend}) | ${inMemory.toFixed(1)} | ${runs(times.inMemory)} | ${rate(inMemory)} | — | 1.00× | ${peakMiB('self').toFixed(0)} |`,
      );
    }
    const markdown = [
      `${ROWS.toLocaleString('en-US')} rows × ${FEATURES} float features, ${EPOCHS} epochs, batch 1024, 10% validation. Logistic regression: the median of ${ROUNDS} rounds, each running the three paths in turn, starting from a different one; the MLP: one round (each run takes minutes). Ratios are of the medians.`,
      '',
      '| model | path | seconds (median) | runs | rows × epochs / s | vs plaintext file | vs in memory | peak MiB |',
      '| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |',
      ...lines,
      '',
      "The Obscura path includes reading the sealed file, checking its manifest and hashes, decrypting and parsing it inside the enclave process, extracting and encoding the rows, training, and signing the result. The plaintext-file peer reads the CSV from disk and parses it with the same parser before the same training, so the ratio against it is what the enclave adds; the in-memory path starts from columns already built, a lower bound no real run has. The plaintext peaks are this benchmark process's high-water mark up to that row.",
    ].join('\n');
    return { title: 'ML: training in the enclave vs the same tfjs code on plaintext', markdown };
  });
}
