/**
 * What anchoring a DP job's spend before it reads data costs, on the embedded chain: the
 * same aggregate over a sealed dataset (SPEND_BENCH_ROWS rows, default 100,000) run as a
 * job without DP (the enclave answers with the result) and as a DP job (the enclave checks
 * its ledger against the chain and the ciphertext against its manifest, commits the spend
 * and answers with it; the host anchors the entry's head; the enclave checks the placement
 * on chain and only then reads and runs). Median of rotated rounds after a warm-up, each
 * phase timed as the host sees it. Anchoring the result itself is the same for both and
 * left out.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHost } from '../src/host/api/host.ts';
import { ChainClient } from '../src/chain/client.ts';
import { loadOrCreateOperatorKey } from '../src/host/chain/operator.ts';
import { signedRequestForInputs } from '../src/client/job-request.ts';
import { sealDataset } from '../src/cli/seal-dataset.ts';
import { accountKeyFromSuri } from '../src/crypto/index.ts';
import { ledgerEntryHash, type SignedLedgerEntry } from '../src/contracts/ledger.ts';
import { parseDatasetPolicy } from '../src/privacy/index.ts';
import { type BenchSection, median } from './section.ts';

const ROWS = Number(process.env.SPEND_BENCH_ROWS ?? 100_000);
const ROUNDS = Number(process.env.SPEND_BENCH_ROUNDS ?? 7);
const REGIONS = ['north', 'south', 'east', 'west', 'central'];

const pipeline = (dp: boolean) => `obscura: 1
name: bench-spend-${dp ? 'dp' : 'plain'}
inputs: { visits: { columns: { region: string, cost: float64 } } }
steps:
  - id: totals
    aggregate: { from: visits, group_by: [region], measures: { n: { count: "*" }, total: { sum: cost, bounds: [0, 5000] } } }
outputs: { totals: { min_group_size: 10${dp ? ', dp: { epsilon: 0.01, delta: 1.0e-9 }' : ''} } }
`;

function makeCsv(path: string): void {
  const lines = ['patient_id,region,age,cost'];
  for (let i = 0; i < ROWS; i++)
    lines.push(`P${i},${REGIONS[i % REGIONS.length]},${i % 90},${((i * 37) % 5000).toFixed(2)}`);
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** Run the spend-before-read benchmark. */
export async function run(): Promise<BenchSection> {
  const dir = mkdtempSync(join(tmpdir(), 'obscura-bench-spend-'));
  const dataDir = join(dir, 'data');
  const host = await startHost({ dataDir, port: 0, chainPort: 0 });
  let chain: ChainClient | undefined;
  try {
    const worker = host.workers.list()[0];
    if (!worker) throw new Error('no worker');
    const enclave = host.workers.get(worker.id);
    chain = await ChainClient.connect(host.chainEndpoint, {
      operatorSuri: (await loadOrCreateOperatorKey(dataDir)).suri,
    });
    const owner = await accountKeyFromSuri('//BenchSpendOwner');
    const analyst = await accountKeyFromSuri('//BenchSpendAnalyst');
    const csv = join(dir, 'visits.csv');
    makeCsv(csv);
    const blobPath = join(dir, 'visits.sealed');
    const { signed } = await sealDataset({
      file: csv,
      out: blobPath,
      owner,
      worker: { id: worker.id, recipient: enclave.info.keys.recipient },
      analysts: [analyst.address],
      measurements: [enclave.info.measurement],
      policy: parseDatasetPolicy('obscura-policy: 1\ndp: { epsilon: 10, delta: 1.0e-3 }\n'),
    });
    const input = { name: 'visits', datasetId: 'bench', blobPath, manifest: signed };
    const plainPipeline = pipeline(false);
    const dpPipeline = pipeline(true);
    const plain: number[] = [];
    const dp = { commit: [] as number[], anchor: [] as number[], run: [] as number[], total: [] as number[] };
    let n = 0;
    const plainJob = async () => {
      const request = await signedRequestForInputs(analyst, plainPipeline, [input]);
      const t0 = performance.now();
      const out = await enclave.request('run_job', {
        job: { id: `plain-${n++}`, request, pipeline: plainPipeline, inputs: [input] },
      });
      if (!('signed' in out)) throw new Error('a job without DP answered with a spend');
      return performance.now() - t0;
    };
    const dpJob = async () => {
      const request = await signedRequestForInputs(analyst, dpPipeline, [input]);
      const t0 = performance.now();
      const out = await enclave.request('run_job', {
        job: { id: `dp-${n++}`, request, pipeline: dpPipeline, inputs: [input] },
      });
      if (!('ledger' in out)) throw new Error('a DP job answered without its spend');
      const t1 = performance.now();
      const entry: SignedLedgerEntry = out.ledger;
      const placement = await (chain as ChainClient).anchorLedgerHead({
        worker: entry.entry.worker,
        seq: entry.entry.seq,
        entry: ledgerEntryHash(entry.entry),
      });
      const t2 = performance.now();
      const confirmed = await enclave.request('confirm_ledger', { placement });
      if (!confirmed.released) throw new Error(`the DP job failed: ${confirmed.failed?.code}`);
      const t3 = performance.now();
      return { commit: t1 - t0, anchor: t2 - t1, run: t3 - t2, total: t3 - t0 };
    };
    await plainJob();
    await dpJob();
    for (let i = 0; i < ROUNDS; i++) {
      // Rotated, so that neither kind always runs on a warmer machine.
      const order = i % 2 === 0 ? ['plain', 'dp'] : ['dp', 'plain'];
      for (const kind of order) {
        if (kind === 'plain') plain.push(await plainJob());
        else {
          const d = await dpJob();
          dp.commit.push(d.commit);
          dp.anchor.push(d.anchor);
          dp.run.push(d.run);
          dp.total.push(d.total);
        }
      }
    }
    const p = median(plain);
    const ms = (x: number) => x.toFixed(0);
    return {
      title: 'DP spend anchored before the job reads data (embedded chain)',
      markdown: [
        `${ROWS.toLocaleString('en-US')} sealed rows, one grouped aggregate; median of ${ROUNDS} rotated rounds after a warm-up. Host-side wall time of each phase.`,
        '',
        '| job | ms | vs the job without DP |',
        '| --- | ---: | ---: |',
        `| without DP: run_job → signed result | ${ms(p)} | 1.00× |`,
        `| DP, whole: commit + anchor + confirm and run | ${ms(median(dp.total))} | ${(median(dp.total) / p).toFixed(2)}× |`,
        `| … run_job: ledger checked against the chain, ciphertext checked, spend committed | ${ms(median(dp.commit))} | |`,
        `| … the spend's head anchored on the embedded chain | ${ms(median(dp.anchor))} | |`,
        `| … confirm_ledger: placement checked on chain, then read, run, sign | ${ms(median(dp.run))} | |`,
      ].join('\n'),
    };
  } finally {
    await chain?.close();
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
