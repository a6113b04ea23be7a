/**
 * Outages a node must ride out with its API up (issue: faults), on one real host (enclave
 * process, API) whose chain is a separate embedded chain the test stops and starts again:
 *
 * - The chain goes away: a job whose result is due to be anchored waits and retries with
 *   backoff, shown as `anchoring`; /v1/health says the chain is degraded; no result is
 *   released meanwhile; when the chain is back the job succeeds with a verifiable anchor.
 * - The enclave process dies between jobs (killed, as by the OOM killer): the host notices,
 *   starts a new one from the sealed state (same identity) without waiting for a job, health
 *   says which worker is down meanwhile, and the next job runs. A kill during a job is
 *   test/adversary/crash-spends.test.ts; a job that exhausts its heap is resource-exhaustion.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Health, HealthSchema } from '../../src/contracts/api-schemas.ts';
import { ChainClient } from '../../src/chain/index.ts';
import {
  type EmbeddedChain,
  loadOrCreateOperatorKey,
  startEmbeddedChain,
} from '../../src/host/chain/index.ts';
import { ApiClient } from '../../src/cli/client.ts';
import { submitJob } from '../../src/client/job-request.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import { type JobRecord, JobRecordSchema, ResultDocumentSchema } from '../../src/contracts/api-records.ts';
import { COUNT } from '../helpers/pipelines.ts';
import { type DataHost, startDataHost } from '../helpers/data-host.ts';

const work = mkdtempSync(join(tmpdir(), 'obscura-outages-'));
const chainDir = join(work, 'chain');
let chain: EmbeddedChain;
let port: number;
let fund: string;
let t: DataHost;
let owner: AccountKey;
let analyst: AccountKey;
let dataset: string;

const health = async (): Promise<Health> =>
  HealthSchema.parse(await (await fetch(`${t.host.url}/v1/health`)).json());
const readJob = async (id: string) =>
  JobRecordSchema.parse(await new ApiClient(t.host.url, analyst).get(`/v1/jobs/${id}`));
const submit = async () =>
  JobRecordSchema.parse(
    await submitJob(new ApiClient(t.host.url, analyst), analyst, {
      pipeline: COUNT,
      inputs: { visits: dataset },
    }),
  );
async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  ms = 90_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
const final = (j: JobRecord) => ['succeeded', 'failed', 'cancelled'].includes(j.status);

beforeAll(async () => {
  mkdirSync(chainDir, { recursive: true });
  copyFileSync(inject('chainSnapshot'), join(chainDir, 'chain.sqlite'));
  const operator = await loadOrCreateOperatorKey(chainDir);
  fund = operator.address;
  chain = await startEmbeddedChain({ dataDir: chainDir, port: 0, fundAccounts: [fund] });
  port = Number(new URL(chain.endpoint).port);
  t = await startDataHost({ chainEndpoint: chain.endpoint, operatorSuri: operator.suri });
  owner = await accountKeyFromSuri('//OutagesOwner');
  analyst = await accountKeyFromSuri('//OutagesAnalyst');
  ({ dataset } = await t.seal({
    owner,
    analysts: [analyst],
    policy: 'obscura-policy: 1\npipelines: any\nmin_group_size: 5\n',
  }));
}, 180_000);

afterAll(async () => {
  await t?.close();
  await chain?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the chain goes away', () => {
  it('a job waits as anchoring, health is degraded, nothing is released; it succeeds when the chain returns', {
    timeout: 240_000,
  }, async () => {
    expect((await health()).status).toBe('ok');
    await chain.close();
    const job = await submit();
    const waiting = await until(
      'job anchoring',
      () => readJob(job.id),
      (j) => j.status === 'anchoring' || final(j),
    );
    expect(waiting.status, JSON.stringify(waiting.error)).toBe('anchoring');
    expect(waiting.result).toBeUndefined();
    const degraded = await until('health degraded', health, (h) => h.status === 'degraded');
    expect(degraded.degraded).toContain('chain');
    expect(degraded.chain.reachable).toBe(false);
    expect(degraded.anchoring.waiting).toBeGreaterThanOrEqual(1);
    // The API stays up, and releases nothing without its anchor.
    const { results } = (await new ApiClient(t.host.url, analyst).get('/v1/results')) as {
      results: unknown[];
    };
    expect(results).toEqual([]);
    expect((await readJob(job.id)).status).toBe('anchoring');

    chain = await startEmbeddedChain({ dataDir: chainDir, port, fundAccounts: [fund] });
    const done = await until('job final', () => readJob(job.id), final);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    const doc = ResultDocumentSchema.parse(
      await new ApiClient(t.host.url, analyst).get(`/v1/results/${done.result}`),
    );
    const client = await ChainClient.connect(chain.endpoint);
    try {
      expect((await client.verifyAnchor(doc.anchor, { kind: 'result', hash: doc.hash })).ok).toBe(true);
    } finally {
      await client.close();
    }
    const back = await until('health ok', health, (h) => h.status === 'ok');
    expect(back.chain.outage).toBeUndefined();
  });
});

describe('the enclave process dies between jobs', () => {
  it('is restarted from its sealed state with the same identity, and serves the next job', {
    timeout: 240_000,
  }, async () => {
    const before = t.host.workers.get('worker-1');
    const identity = before.info.keys.signingKey;
    process.kill(before.pid as number, 'SIGKILL');
    // The API answers throughout; the worker is back without any job asking for it.
    const after = await until(
      'worker restarted',
      async () => ({
        list: t.host.workers.list(),
        pid: t.host.workers.list()[0]?.status === 'running' ? t.host.workers.get('worker-1').pid : undefined,
      }),
      (v) => v.pid !== undefined && v.pid !== before.pid,
    );
    expect(after.list[0]?.signingKey).toBe(identity);
    expect((await health()).degraded).toEqual([]);
    expect(t.logs.join('\n')).toMatch(
      /enclave restarted from its sealed state after it stopped between jobs/,
    );
    const job = await submit();
    const done = await until('job final', () => readJob(job.id), final);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
  });
});
