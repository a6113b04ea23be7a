/**
 * The policy and privacy layer's overhead: one aggregate (count, bounded sum, mean and
 * median of cost by region, adults only) over 1M synthetic visits (PRIVACY_BENCH_ROWS to
 * change), run (a) as the enclave runs a DP job — the owner's dataset policy enforced
 * (analysts, column uses, min_group_size, dp limits) and the output released with
 * discrete Laplace noise and noisy group selection — and (b) the same pipeline with
 * checks and DP off (exact aggregates, `privacy: false`), in the same run. Median of 3
 * after a warm-up; both start from the same parsed dataset.
 */
import { makeVisits } from '../datasets/make-visits.ts';
import type { Manifest } from '../src/crypto/manifest.ts';
import { parseDataset } from '../src/data/index.ts';
import { planDp } from '../src/pipelines/dp.ts';
import { checkPipeline, parsePipeline, pipelineHash, runPipeline } from '../src/pipelines/index.ts';
import { applyLimits, enforcePolicies, parseDatasetPolicy } from '../src/privacy/index.ts';
import { type BenchSection, median, seconds } from './section.ts';

const RUNS = 3;
const ANALYST = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';
const PIPELINE = `obscura: 1
name: dp-cost-by-region
inputs: { visits: { columns: { region: string, age: int64, cost: float64 } } }
steps:
  - id: adults
    filter: { from: visits, where: "age >= 18" }
  - id: by_region
    aggregate:
      from: adults
      group_by: [region]
      measures:
        patients: { count: "*" }
        total_cost: { sum: cost, bounds: [0, 20000] }
        mean_cost: { mean: cost, bounds: [0, 20000] }
        median_cost: { quantile: cost, q: 0.5, bounds: [0, 20000] }
outputs: { by_region: { min_group_size: 10, dp: { epsilon: 1, delta: 1.0e-6 } } }
`;
const POLICY = `obscura-policy: 1
analysts: ["${ANALYST}"]
columns: { group_by: [region], aggregate: [cost, age] }
min_group_size: 20
dp: { epsilon: 10, delta: 1.0e-5, max_epsilon_per_job: 1, required: true }
`;

/** Run the benchmark and report it as a BENCHMARKS.md section. */
export async function run(): Promise<BenchSection> {
  const rows = Number(process.env.PRIVACY_BENCH_ROWS ?? 1_000_000);
  const visits = await parseDataset(Buffer.from(makeVisits({ rows, seed: 3 })), 'csv');
  const doc = parsePipeline(PIPELINE);
  const manifest = {
    name: 'visits',
    owner: ANALYST,
    analysts: ['*'],
    policy: parseDatasetPolicy(POLICY),
  } as unknown as Manifest;

  const withPrivacy = async () => {
    const plan = checkPipeline(doc, { visits: visits.schema });
    const limits = enforcePolicies(plan, [{ name: 'visits', manifest }], {
      analyst: ANALYST,
      pipelineHash: pipelineHash(doc),
      now: new Date(),
      doc,
    });
    return runPipeline(applyLimits(doc, limits), { visits });
  };
  const without = () => runPipeline(doc, { visits }, { privacy: false });
  // The exact aggregates a DP release is computed from, without the checks and the noise.
  const planned = planDp(doc).doc;
  const dpSql = () => runPipeline(planned, { visits }, { privacy: false });

  await withPrivacy();
  await without();
  const on: number[] = [];
  const off: number[] = [];
  const sql: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    on.push(await seconds(withPrivacy));
    off.push(await seconds(without));
    sql.push(await seconds(dpSql));
  }
  const [a, b, c] = [median(on), median(off), median(sql)];
  const row = (label: string, s: number) =>
    `| ${label} | ${s.toFixed(3)} | ${Math.round(rows / s).toLocaleString('en-US')} | ${(s / b).toFixed(3)}× |`;
  const markdown = [
    `Adults' cost by region (count, bounded sum, mean, median) over ${rows.toLocaleString('en-US')} parsed visits. Median of ${RUNS} runs.`,
    '',
    '| path | seconds | rows/s | vs checks and DP off |',
    '| --- | ---: | ---: | ---: |',
    row(
      'policy enforced + DP release (discrete Laplace, noisy group selection; median from a 128-bin noisy histogram)',
      a,
    ),
    row('same pipeline, checks and DP off (exact aggregates)', b),
    row(
      '  the exact aggregates a DP release is made from (sums, counts, 128-bin histogram), no checks or noise',
      c,
    ),
    '',
    `Overhead of the policy and privacy layer: ${((a / b - 1) * 100).toFixed(1)}%, of which ${(((c - b) / b) * 100).toFixed(1)} points are the DP plan's different SQL and the rest the policy checks, the second plan check and drawing the noise (exact discrete sampling, a few draws per group and measure).`,
  ].join('\n');
  return { title: 'Privacy: policy checks and differential privacy on a 1M-row aggregate', markdown };
}
