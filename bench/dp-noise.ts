/**
 * DP noise at scale: a DP release over 10,000 groups with a count and a quantile (a 128-bin
 * noisy histogram per group, so about 1.3M noise draws) beside the same exact aggregate in
 * the same run, and the exact discrete samplers' own rate at a release's parameters
 * (draws/s of calibrated discrete Laplace and Gaussian noise, the CSPRNG read in pools).
 * Rows: DPNOISE_BENCH_ROWS (default 500,000, 50 a group). Medians of 3 runs after a warm-up.
 */
import { cpus, loadavg } from 'node:os';
import { parseDataset } from '../src/data/index.ts';
import { parsePipeline, runPipeline } from '../src/pipelines/index.ts';
import { gridNoise, type NoiseSpec } from '../src/privacy/dp/index.ts';
import { type BenchSection, median, seconds } from './section.ts';

const ROWS = Number(process.env.DPNOISE_BENCH_ROWS ?? 500_000);
const GROUPS = 10_000;
const RUNS = 3;
const BINS = 128;

const PIPELINE = `obscura: 1
name: dp-10k-groups
inputs: { data: { columns: { g: int64, v: float64 } } }
steps:
  - id: by_g
    aggregate:
      from: data
      group_by: [g]
      measures:
        n: { count: "*" }
        p90: { quantile: v, q: 0.9, bounds: [0, 1000] }
outputs: { by_g: { min_group_size: 10, dp: { epsilon: 1, delta: 1.0e-6 } } }
`;

/** Draws per second of `spec` noise for a query of `steps` grid steps: of wall time and of CPU time. */
async function rate(steps: bigint, spec: NoiseSpec): Promise<{ wall: number; cpu: number }> {
  const n = 300_000;
  const before = process.cpuUsage();
  const s = await seconds(() => {
    for (let i = 0; i < n; i++) gridNoise(steps, spec);
  });
  const used = process.cpuUsage(before);
  return { wall: n / s, cpu: n / ((used.user + used.system) / 1e6) };
}

/** Run the DP-noise benchmark. */
export async function run(): Promise<BenchSection> {
  let seed = 5;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const lines = ['g,v'];
  for (let i = 0; i < ROWS; i++) lines.push(`${i % GROUPS},${Math.round(rnd() * 100000) / 100}`);
  const data = await parseDataset(Buffer.from(`${lines.join('\n')}\n`), 'csv');
  const doc = parsePipeline(PIPELINE);
  const released = async () => {
    const out = await runPipeline(doc, { data });
    return out.by_g?.rows.length ?? 0;
  };
  const exact = () => runPipeline(doc, { data }, { privacy: false });
  const loadBefore = loadavg()[0] as number;
  const groups = await released();
  await exact();
  const dp: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    dp.push(await seconds(released));
    plain.push(await seconds(exact));
  }
  // Per group: the noisy count that selects it, its count, and the quantile's bins (ε/3 each).
  const draws = GROUPS * (2 + BINS);
  const [a, b] = [median(dp), median(plain)];
  const samplers = [
    [
      'discrete Laplace, this release’s counts and bins (ε = 1/3, sensitivity 1)',
      1n,
      { mechanism: 'laplace', epsilon: 1 / 3, delta: 0 },
    ],
    [
      'discrete Laplace, a count (ε = 0.5, sensitivity 1)',
      1n,
      { mechanism: 'laplace', epsilon: 0.5, delta: 0 },
    ],
    [
      'discrete Laplace, a real-valued sum (ε = 1/3, 2^21 grid steps)',
      2n ** 21n + 1n,
      { mechanism: 'laplace', epsilon: 1 / 3, delta: 0 },
    ],
    [
      'discrete Gaussian, a count (ε = 1/3, δ = 1e-6)',
      1n,
      { mechanism: 'gaussian', epsilon: 1 / 3, delta: 1e-6 },
    ],
  ] as const;
  const rates: string[] = [];
  const count = (x: number) => Math.round(x).toLocaleString('en-US');
  for (const [label, steps, spec] of samplers) {
    const r = await rate(steps, spec);
    rates.push(`| ${label} | ${count(r.wall)} | ${count(r.cpu)} |`);
  }
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
  const markdown = [
    `${ROWS.toLocaleString('en-US')} rows in ${GROUPS.toLocaleString('en-US')} groups; a count and a 0.9-quantile (a ${BINS}-bin noisy histogram) per group, ε = 1, δ = 1e-6: about ${draws.toLocaleString('en-US')} noise draws, plus noisy group selection (${groups.toLocaleString('en-US')} groups released). Medians of ${RUNS} runs; load average ${loadBefore.toFixed(1)} before and ${(loadavg()[0] as number).toFixed(1)} after, on ${cpus().length} cores (the machine is shared).`,
    '',
    '| path | seconds (median) | runs | vs exact |',
    '| --- | ---: | --- | ---: |',
    `| DP release (exact discrete samplers, pooled CSPRNG) | ${a.toFixed(2)} | ${fmt(dp)} | ${(a / b).toFixed(2)}× |`,
    `| the same aggregate, exact (no noise) | ${b.toFixed(2)} | ${fmt(plain)} | 1.00× |`,
    '',
    'The samplers alone, at a release’s parameters (300,000 draws each; the sampler is single-threaded, so draws per CPU second is the rate a loaded machine does not distort):',
    '',
    '| noise | draws/s (wall) | draws/s (CPU) |',
    '| --- | ---: | ---: |',
    ...rates,
  ].join('\n');
  return { title: 'DP noise at scale: 10,000 groups with a 128-bin quantile', markdown };
}
