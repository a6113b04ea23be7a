/**
 * Benchmark: DCAP quote verification per quote, through Obscura's verifier (quote parsing,
 * collateral from the PCCS source's cache, CRL authentication, dcap-qvl, and the policy
 * checks) beside @phala/dcap-qvl's `verify` called bare on the same quote and collateral, in
 * the same run. Uses the real Intel samples of test/fixtures/dcap at the times their
 * README gives, with the collateral pre-loaded into a disk cache (no network). Calls
 * alternate between the two so load from other processes falls on both alike; each figure is
 * the median of ATTEST_BENCH_ROUNDS (default 100) calls after 10 warm-up calls.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { verify as dcapVerify } from '@phala/dcap-qvl';
import {
  CollateralCache,
  collateralKey,
  PccsCollateralSource,
  parseCollateral,
  parseQuote,
} from '../src/attestation/dcap/index.ts';
import { parsePolicy } from '../src/attestation/policy.ts';
import { verifyQuote } from '../src/attestation/verify-quote.ts';
import { PROJECT_ROOT } from '../src/contracts/measurement.ts';
import { type BenchSection, median } from './section.ts';

const ROUNDS = Number(process.env.ATTEST_BENCH_ROUNDS ?? 100);
const FIXTURES = resolve(PROJECT_ROOT, 'test/fixtures/dcap');

interface Sample {
  name: string;
  quote: string;
  collateral: string;
  at: number;
  policy: string;
}

const SAMPLES: Sample[] = [
  {
    name: 'TDX v4 (tdx_quote)',
    quote: 'tdx_quote',
    collateral: 'tdx_quote_collateral.json',
    at: 1750329207,
    policy:
      'measurements:\n  - tdx: { mrtd: "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7" }\nmax_collateral_age: 30d\n',
  },
  {
    name: 'SGX v3 (sgx_quote)',
    quote: 'sgx_quote',
    collateral: 'sgx_quote_collateral.json',
    at: 1750330631,
    policy:
      'tcb: [UpToDate, ConfigurationAndSWHardeningNeeded]\nmeasurements:\n  - sgx: { mrenclave: "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb" }\nmax_collateral_age: 30d\n',
  },
];

/** Milliseconds `fn` takes. */
async function ms(fn: () => unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Run the benchmark. */
export async function run(): Promise<BenchSection> {
  const title = 'Attestation: DCAP quote verification';
  if (!existsSync(resolve(FIXTURES, 'tdx_quote'))) {
    return { title, markdown: `Skipped: the DCAP samples are not at \`${FIXTURES}\`.` };
  }
  const cacheDir = mkdtempSync(join(tmpdir(), 'obscura-bench-attest-'));
  const rows: string[] = [];
  try {
    for (const s of SAMPLES) {
      const raw = readFileSync(resolve(FIXTURES, s.quote));
      const bareCollateral = JSON.parse(readFileSync(resolve(FIXTURES, s.collateral), 'utf8'));
      const quote = parseQuote(raw);
      // Pre-load the disk cache, as a first `obscura attest` against a PCCS would have.
      new CollateralCache(cacheDir).put(
        collateralKey(quote),
        'http://127.0.0.1:9',
        parseCollateral(bareCollateral, s.collateral),
      );
      const source = new PccsCollateralSource({ url: 'http://127.0.0.1:9', cacheDir });
      const policy = parsePolicy(s.policy);
      const expect = { collateral: source, at: s.at, policy, reportData: quote.reportData };

      const check = await verifyQuote(raw, expect);
      if (!check.ok)
        throw new Error(
          `${s.name}: expected the sample to verify: ${JSON.stringify(check.checks.filter((c) => !c.ok))}`,
        );
      const status = dcapVerify(raw, bareCollateral, s.at).status;

      const bare: number[] = [];
      const obscura: number[] = [];
      for (let i = 0; i < ROUNDS + 10; i++) {
        const b = await ms(() => dcapVerify(raw, bareCollateral, s.at));
        const o = await ms(() => verifyQuote(raw, expect));
        if (i >= 10) {
          bare.push(b);
          obscura.push(o);
        }
      }
      const mb = median(bare);
      const mo = median(obscura);
      rows.push(
        `| ${s.name}, ${status} | ${mb.toFixed(2)} ms | ${mo.toFixed(2)} ms | ${(((mo - mb) / mb) * 100).toFixed(1)}% |`,
      );
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  return {
    title,
    markdown: [
      `Median of ${ROUNDS} verifications per quote, collateral cached (disk cache, then memory), Intel's samples at their README times.`,
      '',
      '| quote | `@phala/dcap-qvl` `verify`, bare | Obscura `verifyQuote` (6 checks, policy, CRL signatures) | overhead |',
      '| --- | ---: | ---: | ---: |',
      ...rows,
    ].join('\n'),
  };
}
