/**
 * A federated aggregate over three members of 1M rows each beside one enclave over the same
 * 3M rows (issue 15's target: at most 1.3× its time). Each member is its own enclave
 * process, as on three nodes; the host's relay (HTTP between nodes) is left out, since it
 * carries one sealed partial per member. Reported: wall time of both. The members share this
 * machine's cores here; on a machine per node the federated job would take about its slowest
 * member plus the merge.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signedRequestForInputs } from '../src/client/job-request.ts';
import type { JobSpec } from '../src/contracts/enclave-protocol.ts';
import { accountKeyFromSuri } from '../src/crypto/index.ts';
import type { SealedMessage } from '../src/federation/channel.ts';
import type { EnclaveClient } from '../src/host/enclave-client.ts';
import { freshNonce } from '../src/host/federation/registry.ts';
import { costByRegion, sealedInput, withBenchEnclave } from './sealed-input.ts';
import { type BenchSection, median, seconds } from './section.ts';

const ROWS = Number(process.env.FED_BENCH_ROWS ?? 1_000_000);
const REGIONS = ['north', 'south', 'east', 'west', 'central'];

const PIPELINE = costByRegion('bench-federated-cost-by-region');

function makeCsv(path: string, rows: number, seed0: number): void {
  const lines = ['region,age,cost'];
  let seed = seed0;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let i = 0; i < rows; i++)
    lines.push(`${REGIONS[i % REGIONS.length]},${Math.floor(rnd() * 90)},${(rnd() * 5000).toFixed(2)}`);
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** Run the federated aggregate benchmark. */
export async function run(): Promise<BenchSection> {
  return withBenchEnclave('obscura-bench-fed-', async ({ dir, start }) => {
    const enclaves: EnclaveClient[] = [];
    const analyst = await accountKeyFromSuri('//BenchAnalyst');
    for (const id of ['fed-a', 'fed-b', 'fed-c', 'single']) enclaves.push(await start(id, id));
    const seal = async (e: EnclaveClient, name: string, rows: number, seed: number) => {
      const file = join(dir, `${name}.csv`);
      makeCsv(file, rows, seed);
      const { input } = await sealedInput(e, {
        accounts: 'Bench',
        file,
        out: `${file}.sealed`,
        name: 'visits',
        datasetId: name,
      });
      rmSync(file);
      return input;
    };
    const members = enclaves.slice(0, 3);
    const single = enclaves[3] as EnclaveClient;
    const parts = await Promise.all(members.map((e, i) => seal(e, `part-${i}`, ROWS, 7 + i)));
    const whole = await seal(single, 'whole', 3 * ROWS, 7);
    const coordinator = members[0] as EnclaveClient;
    const peerOf = async (e: EnclaveClient) => {
      const nonce = freshNonce();
      return {
        workerId: e.info.workerId,
        keys: e.info.keys,
        evidence: (await e.request('attest', { nonce })).evidence,
        nonce,
      };
    };
    const fedWall: number[] = [];
    const oneWall: number[] = [];
    for (let r = 0; r < 3; r++) {
      const id = `fed-${r}`;
      const request = await signedRequestForInputs(analyst, PIPELINE, parts);
      const job = { id, request, pipeline: PIPELINE };
      const to = await peerOf(coordinator);
      const peers = await Promise.all(members.map(peerOf));
      fedWall.push(
        await seconds(async () => {
          const partials = await Promise.all(
            members.map(async (e, i) => {
              const taken = await e.request('fed_partial', {
                session: `${id}:${i}`,
                job: { ...job, inputs: [parts[i] as JobSpec['inputs'][number]] },
                coordinator: to,
              });
              return (taken as { partial: SealedMessage }).partial;
            }),
          );
          await coordinator.request('fed_merge', { job, peers, partials });
        }),
      );
      const one = await signedRequestForInputs(analyst, PIPELINE, [whole]);
      oneWall.push(
        await seconds(() =>
          single.request('run_job', {
            job: { id: `one-${r}`, request: one, pipeline: PIPELINE, inputs: [whole] },
          }),
        ),
      );
    }
    const [w, o] = [median(fedWall), median(oneWall)];
    const markdown = [
      `Filter + aggregate by region (count, sum, mean, max), median of 3. Three member enclaves of ${ROWS.toLocaleString('en')} rows each (separate processes, as on three nodes; the HTTP relay between nodes left out) beside one enclave over the same ${(3 * ROWS).toLocaleString('en')} rows. Target: federated ≤ 1.3× the single enclave.`,
      '',
      '| path | seconds | vs one enclave over all rows |',
      '| --- | ---: | ---: |',
      `| federated: three members' partials, sealed, then merged and released (members share this machine's cores) | ${w.toFixed(2)} | ${(w / o).toFixed(2)}× |`,
      `| one enclave, all rows (run_job) | ${o.toFixed(2)} | 1.00× |`,
    ].join('\n');
    return { title: 'Federated aggregate: 3 nodes × rows vs 1 node × 3 × rows', markdown };
  });
}
