/**
 * Attestation round trip for a worker on localhost: a fresh nonce over HTTP to the API host,
 * through the IPC channel to the enclave (simulated TEE), the evidence back, and its
 * verification — what `obscura workers` and `obscura seal` do before trusting a worker.
 * Beside it in the same run: a bare HTTP round trip to the same host (GET /v1/workers),
 * so the ratio shows what attestation adds.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHost } from '../src/host/api/host.ts';
import { EvidenceSchema, verifyEvidence } from '../src/attestation/index.ts';
import { type BenchSection, median } from './section.ts';

const ROUNDS = Number(process.env.ROUNDTRIP_BENCH_ROUNDS ?? 100);

/** Run the attestation round-trip benchmark. */
export async function run(): Promise<BenchSection> {
  const dataDir = mkdtempSync(join(tmpdir(), 'obscura-bench-rt-'));
  const host = await startHost({ dataDir, port: 0, chainPort: 0 });
  try {
    const worker = host.workers.list()[0];
    if (!worker) throw new Error('no worker');
    const attest: number[] = [];
    const plain: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const nonce = randomBytes(32).toString('hex');
      let t0 = performance.now();
      const res = (await (
        await fetch(`${host.url}/v1/workers/${worker.id}/attestation?nonce=${nonce}`)
      ).json()) as { evidence: unknown };
      const verdict = await verifyEvidence(EvidenceSchema.parse(res.evidence), {
        nonce,
        allowSimulated: true,
        measurements: [worker.measurement],
      });
      if (!verdict.ok) throw new Error('attestation failed in the benchmark');
      attest.push(performance.now() - t0);
      t0 = performance.now();
      await (await fetch(`${host.url}/v1/workers`)).json();
      plain.push(performance.now() - t0);
    }
    const a = median(attest);
    const p = median(plain);
    return {
      title: 'Attestation round trip on localhost',
      markdown: [
        `Simulated TEE, median of ${ROUNDS}.`,
        '',
        '| round trip | ms | vs plain request |',
        '| --- | ---: | ---: |',
        `| fresh nonce → API → enclave → evidence → verified | ${a.toFixed(2)} | ${(a / p).toFixed(1)}× |`,
        `| plain GET /v1/workers | ${p.toFixed(2)} | 1.0× |`,
      ].join('\n'),
    };
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
