/**
 * Exact fits in the enclave beside scikit-learn: linear and logistic regression on N×20
 * rows (EXACT_BENCH_ROWS, default 1M) as an Obscura job on the sealed dataset (read,
 * verify, decrypt, parse, encode, fit with `solver: exact`, sign), and scikit-learn's
 * `LinearRegression()` / `LogisticRegression()` on the same rows read from the plaintext
 * CSV with DuckDB (bench/sklearn-fit.py), each the median of EXACT_BENCH_ROUNDS rounds
 * (default 3), with the metrics each reaches on those rows. The Python peer runs in a
 * virtual environment (BENCH_VENV, default /tmp/obscura-bench-venv) that this bench makes
 * with pip if it is missing; when it cannot, the peer's rows say so and the section still
 * reports Obscura's times.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { signedRequestForInputs } from '../src/client/job-request.ts';
import { openOutputs } from '../src/contracts/result-outputs.ts';
import { sealedInput, withBenchEnclave } from './sealed-input.ts';
import { type BenchSection, median } from './section.ts';

const ROWS = Number(process.env.EXACT_BENCH_ROWS ?? 1_000_000);
const ROUNDS = Number(process.env.EXACT_BENCH_ROUNDS ?? 3);
const FEATURES = 20;
const VENV = process.env.BENCH_VENV ?? '/tmp/obscura-bench-venv';

/** N rows of 20 features, a numeric label yn and a boolean label yb that depend on them (seeded). */
function makeCsv(): string {
  let seed = 11;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const lines = [[...Array.from({ length: FEATURES }, (_, j) => `x${j}`), 'yn', 'yb'].join(',')];
  for (let i = 0; i < ROWS; i++) {
    let z = 0;
    const row: string[] = [];
    for (let j = 0; j < FEATURES; j++) {
      const x = Math.round((rnd() * 2 - 1) * 1000) / 1000;
      z += (j % 3 === 0 ? 1 : -0.5) * x;
      row.push(String(x));
    }
    const yn = Math.round((3 * z + 2 * (rnd() - 0.5)) * 1000) / 1000;
    row.push(String(yn), rnd() < 1 / (1 + Math.exp(-z)) ? 'true' : 'false');
    lines.push(row.join(','));
  }
  return `${lines.join('\n')}\n`;
}

const pipeline = (model: string, label: string) => `obscura: 1
name: bench-exact-${model}
inputs: { data: { columns: { ${[...Array.from({ length: FEATURES }, (_, j) => `x${j}: float64`), 'yn: float64', 'yb: bool'].join(', ')} } } }
steps:
  - id: m
    train:
      from: data
      model: ${model}
      features: [${Array.from({ length: FEATURES }, (_, j) => `x${j}`).join(', ')}]
      label: ${label}
      options: { solver: exact, validation_split: 0 }
outputs: { m: { min_group_size: 10 } }
`;

/** The Python with scikit-learn and duckdb, made if missing; or why there is none. */
export function python(): { bin: string } | { skipped: string } {
  const bin = join(VENV, 'bin/python');
  const ready = () => {
    try {
      execFileSync(bin, ['-c', 'import sklearn, duckdb'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (existsSync(bin) && ready()) return { bin };
  try {
    process.stderr.write(`bench: making ${VENV} with scikit-learn and duckdb…\n`);
    execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'ignore' });
    execFileSync(join(VENV, 'bin/pip'), ['install', '-q', 'scikit-learn', 'duckdb'], { stdio: 'ignore' });
  } catch (e) {
    return {
      skipped: `could not make a Python environment with scikit-learn (${(e as Error).message.split('\n')[0]})`,
    };
  }
  return ready() ? { bin } : { skipped: 'scikit-learn did not import after installing it' };
}

interface Peer {
  sklearn: string;
  read: number;
  linear: number;
  logistic: number;
  runs: { read: number[]; linear: number[]; logistic: number[] };
  metrics: Record<string, number>;
}

/** Run the exact-fit benchmark. */
export async function run(): Promise<BenchSection> {
  return withBenchEnclave('obscura-bench-exact-', async ({ dir, start }) => {
    const file = join(dir, 'data.csv');
    writeFileSync(file, makeCsv());
    const loadBefore = loadavg()[0] as number;
    const e = await start('bench-exact');
    const { analyst, input } = await sealedInput(e, {
      accounts: 'BenchExact',
      file,
      out: join(dir, 'data.sealed'),
      name: 'data',
    });
    const models = [
      ['linear regression', 'linear_regression', 'yn', ['r2', 'rmse']],
      ['logistic regression', 'logistic_regression', 'yb', ['auc', 'accuracy', 'log_loss']],
    ] as const;
    const ours: Record<string, { times: number[]; metrics: Record<string, number>; epochs: number }> = {};
    for (const [, model] of models) ours[model] = { times: [], metrics: {}, epochs: 0 };
    const py = python();
    const peerRuns: Peer[] = [];
    let skipped = 'skipped' in py ? py.skipped : '';
    // Each round runs both Obscura jobs and then the peer, so a change in the machine's load
    // falls on each alike (the machine is shared).
    for (let r = 0; r < ROUNDS; r++) {
      for (const [, model, label] of models) {
        const entry = ours[model] as { times: number[]; metrics: Record<string, number>; epochs: number };
        const doc = pipeline(model, label);
        const request = await signedRequestForInputs(analyst, doc, [input]);
        const started = performance.now();
        const reply = await e.request('run_job', {
          job: { id: `bench-exact-${model}-${r}`, request, pipeline: doc, inputs: [input] },
        });
        entry.times.push((performance.now() - started) / 1000);
        if (!('signed' in reply)) throw new Error(`bench: the enclave refused the ${model} job`);
        const out = (
          await openOutputs(
            reply.signed.result,
            reply.ciphertext ? Buffer.from(reply.ciphertext, 'base64') : undefined,
            analyst,
          )
        ).m;
        entry.metrics = Object.fromEntries((out?.rows ?? []).map(([k, v]) => [k as string, v as number]));
        entry.epochs = entry.metrics.epochs ?? 0;
      }
      if ('bin' in py && !skipped) {
        try {
          peerRuns.push(
            JSON.parse(
              execFileSync(py.bin, [join(import.meta.dirname, 'sklearn-fit.py'), file, '1'], {
                encoding: 'utf8',
                maxBuffer: 1 << 20,
              }),
            ) as Peer,
          );
        } catch (err) {
          skipped = `scikit-learn's run failed (${(err as Error).message.split('\n')[0]})`;
        }
      }
    }
    const peer: Peer | { skipped: string } =
      skipped || peerRuns.length === 0
        ? { skipped: skipped || 'no run' }
        : {
            sklearn: (peerRuns[0] as Peer).sklearn,
            read: median(peerRuns.map((p) => p.read)),
            linear: median(peerRuns.map((p) => p.linear)),
            logistic: median(peerRuns.map((p) => p.logistic)),
            runs: {
              read: peerRuns.map((p) => p.read),
              linear: peerRuns.map((p) => p.linear),
              logistic: peerRuns.map((p) => p.logistic),
            },
            metrics: (peerRuns[0] as Peer).metrics,
          };
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
    const lines: string[] = [];
    for (const [title, model, , keys] of models) {
      const o = ours[model] as { times: number[]; metrics: Record<string, number>; epochs: number };
      const mine = median(o.times);
      const metrics = (m: Record<string, number>) =>
        keys.map((k) => `${k} ${(m[k] as number).toFixed(4)}`).join(', ');
      if ('skipped' in peer) {
        lines.push(
          `| ${title} | Obscura job, exact solver, ${o.epochs === 1 ? 'one pass' : `${o.epochs} passes (Newton, its Hessian reused near the optimum)`} | ${mine.toFixed(2)} | ${fmt(o.times)} | — | ${metrics(o.metrics)} |`,
          `| ${title} | peer: scikit-learn | skipped: ${peer.skipped} | | | |`,
        );
        continue;
      }
      const fit = model === 'linear_regression' ? peer.linear : peer.logistic;
      const fitRuns = model === 'linear_regression' ? peer.runs.linear : peer.runs.logistic;
      const total = peer.read + fit;
      lines.push(
        `| ${title} | Obscura job on the sealed file, exact solver, ${o.epochs === 1 ? 'one pass' : `${o.epochs} passes (Newton, its Hessian reused near the optimum)`} | ${mine.toFixed(2)} | ${fmt(o.times)} | **${(mine / total).toFixed(2)}×** | ${metrics(o.metrics)} |`,
        `| ${title} | peer: DuckDB read_csv + scikit-learn ${peer.sklearn} fit | ${total.toFixed(2)} | read ${fmt(peer.runs.read)}; fit ${fmt(fitRuns)} | 1.00× | ${metrics(peer.metrics)} |`,
        `| ${title} | scikit-learn fit alone (columns in memory) | ${fit.toFixed(2)} | ${fmt(fitRuns)} | ${(mine / fit).toFixed(2)}× | |`,
      );
    }
    const markdown = [
      `${ROWS.toLocaleString('en-US')} rows × ${FEATURES} float features; load average ${loadBefore.toFixed(1)} before the rounds and ${(loadavg()[0] as number).toFixed(1)} after, on ${cpus().length} cores (the machine is shared: above the core count, every figure is slowed and the ratios are the thing to read). Both fit on all rows and report metrics on them. Medians of ${ROUNDS} rounds, each running both Obscura jobs and then the peer; the ratio is Obscura's job time over the peer's.`,
      '',
      '| model | path | seconds (median) | runs | vs peer | metrics on the rows |',
      '| --- | --- | ---: | --- | ---: | --- |',
      ...lines,
      '',
      "The Obscura job includes reading the sealed file, checking its manifest and hashes, decrypting and parsing it inside the enclave process, encoding the rows (standardised), the fit and signing the result; the peer reads the plaintext CSV with DuckDB into NumPy and fits with scikit-learn's defaults (`LogisticRegression()`: L2 with C = 1, lbfgs). Obscura's logistic fit is the same objective on standardised features, by Newton's method (a pass is one gradient over all rows; only the first steps also compute the Hessian).",
    ].join('\n');
    return { title: 'ML: exact fits in the enclave vs scikit-learn', markdown };
  });
}
