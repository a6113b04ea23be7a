/**
 * Issue 15's end-to-end test: three organisations' nodes as separate OS processes, each a
 * real `obscura serve` with its own data directory, port, operator key and enclave process,
 * sharing nothing but the chain (one of its own from the suite's snapshot, which B and C
 * join as they join A's chain in the README's walkthrough: the worker's shared chain holds
 * the node records of other files' stopped hosts) and HTTP. Each owner seals to its
 * own node's worker and uploads there; the analyst submits every job to A, which finds the
 * other nodes' datasets through the chain's registry.
 *
 * One set-up (four nodes, started side by side) for every scenario, in order:
 * - a federated aggregate equal to DuckDB's on the union of the three plaintexts: a group
 *   small on every node but large in the union is released, one small in the union is not;
 *   the signed result names every node's worker and passes verify's check of every member;
 * - a federated DP aggregate, each node charging its own dataset on its own ledger;
 * - a dry run across nodes; a node whose owner's policy refuses (the job fails whole, naming
 *   it); a join across nodes and a schema mismatch (refused at submission);
 * - federated training over the three nodes, every worker's part checked as verify does;
 * - D, a fourth node whose enclave runs other code (one enclave file changed, so another
 *   measurement): a job over D's dataset is refused naming D, and nothing goes to D;
 * - C killed (SIGKILL: its host, and so its enclave) in the middle of a training job: the
 *   job fails at once naming C and releases nothing; a job over C's data is then refused.
 *
 * What needs no second process (a hostile host between enclaves, a member's part altered)
 * stays in-process: test/adversary/federated-partials.test.ts, nodes.test.ts.
 */
import { rmSync, writeFileSync, mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/client.ts';
import { JobRecordSchema } from '../../src/contracts/api-records.ts';
import type { WorkerRecord } from '../../src/contracts/worker-record.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import { signedRequestFor } from '../../src/client/job-request.ts';
import { parseCsv } from '../../src/data/csv.ts';
import { parsePipeline, runPipeline } from '../../src/pipelines/index.ts';
import { parseResultDocument } from '../../src/provenance/document.ts';
import { verifyResultDocument } from '../../src/provenance/index.ts';
import { boot, type Node, stop } from '../faults/node.ts';
import { sealAndUpload } from '../helpers/datasets.ts';
import { finished, postJob, resultOutputs } from '../helpers/jobs.ts';
import { upgradedTree } from '../helpers/tree.ts';
import type { EmbeddedChain } from '../../src/host/chain/index.ts';
import { ownChain } from '../helpers/worker-chain.ts';

const work = mkdtempSync(join(tmpdir(), 'obscura-fedproc-'));
let chain: string;
let chainProcess: EmbeddedChain | undefined;
let analyst: AccountKey;
const nodes: Record<'a' | 'b' | 'c' | 'd', Node> = {} as never;
const ids: Record<string, string> = {};
const csv: Record<string, string> = {};
let otherCode: string | undefined;

const DP_POLICY = 'obscura-policy: 1\ndp: { epsilon: 3, delta: 1.0e-5, max_epsilon_per_job: 1 }\n';

const AGGREGATE = (extra: Record<string, unknown> = {}, measures?: Record<string, unknown>) =>
  JSON.stringify({
    obscura: 1,
    name: 'visits-by-region',
    inputs: { visits: { columns: { region: 'string', age: 'int64', cost: 'float64' } } },
    steps: [
      {
        id: 'by_region',
        aggregate: {
          from: 'visits',
          group_by: ['region'],
          measures: measures ?? {
            n: { count: '*' },
            total: { sum: 'cost', bounds: [0, 1000] },
            mean_age: { mean: 'age', bounds: [0, 120] },
            sd_cost: { stddev: 'cost', bounds: [0, 1000] },
            oldest: { max: 'age' },
          },
        },
      },
    ],
    outputs: { by_region: { min_group_size: 10, ...extra } },
  });

const TRAIN = (rounds: number) =>
  JSON.stringify({
    obscura: 1,
    name: 'cost-model',
    inputs: { visits: { columns: { age: 'int64', cost: 'float64' } } },
    steps: [
      {
        id: 'model',
        train: {
          from: 'visits',
          model: 'linear_regression',
          features: ['age'],
          label: 'cost',
          options: { epochs: 1, learning_rate: 0.05, rounds },
        },
      },
    ],
    outputs: { model: { min_group_size: 10 } },
  });

/** Rows per region on one node: north 4 + 4 + 4 and south 6 + 5 reach 10 only together; east and west never do. */
function rows(node: number, counts: Record<string, number>): string {
  const lines = ['region,age,cost'];
  let i = 0;
  for (const [region, n] of Object.entries(counts))
    for (let r = 0; r < n; r++, i++)
      lines.push(`${region},${20 + ((node * 7 + i * 13) % 60)},${(node * 31 + i * 17) % 500}.25`);
  return `${lines.join('\n')}\n`;
}

/** Seal `text` to the node's only worker as `owner` under `policy`, upload it there, and keep its id under `key`. */
async function upload(node: Node, key: string, owner: AccountKey, text: string, policy = DP_POLICY) {
  const file = join(work, `${key}.csv`);
  writeFileSync(file, text);
  csv[key] = text;
  const { workers } = (await new ApiClient(node.url, owner).get('/v1/workers')) as {
    workers: WorkerRecord[];
  };
  const { dataset } = await sealAndUpload({
    url: node.url,
    file,
    out: `${file}.sealed`,
    owner,
    worker: workers[0] as WorkerRecord,
    analysts: [analyst.address],
    policy,
  });
  ids[key] = dataset;
}

/** A node on a data directory of its own under `work`, from the code under `root` (this project's by default). */
function start(name: string, root?: string): Promise<Node> {
  const dataDir = join(work, name);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return boot(dataDir, chain, undefined, root);
}

beforeAll(async () => {
  chainProcess = await ownChain();
  chain = chainProcess.endpoint;
  otherCode = upgradedTree('a node running other code');
  [nodes.a, nodes.b, nodes.c, nodes.d] = await Promise.all([
    start('a'),
    start('b'),
    start('c'),
    start('d', otherCode),
  ]);
  analyst = await accountKeyFromSuri(`0x${'c1'.repeat(32)}`);
  const owners = await Promise.all(
    ['c2', 'c3', 'c4', 'c5'].map((s) => accountKeyFromSuri(`0x${s.repeat(32)}`)),
  );
  await Promise.all([
    upload(nodes.a, 'a', owners[0] as AccountKey, rows(0, { north: 4, south: 6, east: 2 })),
    upload(nodes.b, 'b', owners[1] as AccountKey, rows(1, { north: 4, south: 5, east: 1 })),
    upload(nodes.c, 'c', owners[2] as AccountKey, rows(2, { north: 4, west: 5, east: 1 })),
    upload(nodes.d, 'd', owners[3] as AccountKey, rows(3, { north: 12 })),
  ]);
  await Promise.all([
    // C's second dataset: its owner lets no one group by region.
    upload(
      nodes.c,
      'c_strict',
      owners[2] as AccountKey,
      rows(4, { north: 12 }),
      'obscura-policy: 1\ncolumns:\n  group_by: [age]\n  aggregate: [cost, age]\n',
    ),
    // B's second dataset: another schema.
    upload(nodes.b, 'b_other', owners[1] as AccountKey, 'region,age\nnorth,40\n'),
  ]);
}, 180_000);

afterAll(async () => {
  await Promise.allSettled(Object.values(nodes).map((n) => stop(n)));
  rmSync(work, { recursive: true, force: true });
  if (otherCode) rmSync(otherCode, { recursive: true, force: true });
  await chainProcess?.close();
});

async function submit(pipeline: string, visits: string[]) {
  return JobRecordSchema.parse(await postJob(nodes.a.url, analyst, { pipeline, inputs: { visits } }));
}
async function run(pipeline: string, visits: string[]) {
  return finished(nodes.a.url, analyst, await submit(pipeline, visits), 120_000);
}

describe('three nodes as separate processes, sharing only the chain and HTTP', () => {
  it("a federated aggregate equals DuckDB's on the union of the plaintexts, releasing only the groups the union makes large enough", async () => {
    const job = await run(AGGREGATE(), [ids.a, ids.b, ids.c] as string[]);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const got = (await resultOutputs(nodes.a.url, analyst, job.result as string)).by_region;
    const union = [csv.a, csv.b, csv.c]
      .map((t, i) => (i === 0 ? t : (t as string).split('\n').slice(1).join('\n')))
      .join('');
    const want = (
      await runPipeline(parsePipeline(AGGREGATE()), { visits: parseCsv(new TextEncoder().encode(union)) })
    ).by_region;
    expect(got?.rows.map((r) => r[0])).toEqual(['north', 'south']);
    expect(want?.rows.map((r) => r[0])).toEqual(['north', 'south']);
    for (const [i, row] of (want?.rows ?? []).entries())
      for (const [j, v] of row.entries()) {
        const g = got?.rows[i]?.[j];
        if (typeof v === 'number') expect(g as number).toBeCloseTo(v, 9);
        else expect(g).toEqual(v);
      }
    expect(got?.suppressedGroups).toBe(2);
    const doc = parseResultDocument(
      await new ApiClient(nodes.a.url, analyst).get(`/v1/results/${job.result}`),
    );
    expect(doc.signed.result.federation?.workers.map((w) => w.worker).sort()).toEqual(
      ['worker-1', `worker-1@${nodes.b.url}`, `worker-1@${nodes.c.url}`].sort(),
    );
    const verdict = await verifyResultDocument(doc, { chainEndpoint: chain, allowSimulated: true });
    expect(verdict.checks.filter((c) => !c.ok)).toEqual([]);
    expect(verdict.checks.filter((c) => c.name.startsWith('member ')).length).toBe(3);
  }, 120_000);

  it('a federated DP aggregate: noised once after the merge, each node charging its own dataset', async () => {
    const pipeline = AGGREGATE(
      { dp: { epsilon: 0.5, delta: 1e-6 } },
      { n: { count: '*' }, total: { sum: 'cost', bounds: [0, 1000] } },
    );
    const job = await run(pipeline, [ids.a, ids.b, ids.c] as string[]);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect((await resultOutputs(nodes.a.url, analyst, job.result as string)).by_region?.dp).toBeDefined();
    for (const key of ['a', 'b', 'c'] as const) {
      const budget = (await new ApiClient(nodes[key].url, analyst).get(
        `/v1/datasets/${ids[key]}/budget`,
      )) as { epsilon: { spent: number } };
      expect(budget.epsilon.spent, `node ${key}`).toBeCloseTo(0.5, 9);
    }
  }, 120_000);

  it('a dry run locates the datasets of other nodes and says they are checked there when the job runs', async () => {
    const api = new ApiClient(nodes.a.url, analyst);
    const body = { pipeline: AGGREGATE(), inputs: { visits: [ids.a, ids.b, ids.c] as string[] } };
    const preview = await api.dryRun({ ...body, request: await signedRequestFor(api, analyst, body) });
    expect(preview.ok).toBe(true);
    const other = preview.checks.find((ch) => ch.check === 'other nodes');
    expect(other?.detail).toContain(`${ids.b} on node ${nodes.b.url}`);
    expect(other?.detail).toContain(`${ids.c} on node ${nodes.c.url}`);
    expect(preview.warnings.map((w) => w.code)).toContain('federation_checked_at_run');
    const remoteOnly = { pipeline: AGGREGATE(), inputs: { visits: [ids.b, ids.c] as string[] } };
    const refused = await api
      .dryRun({ ...remoteOnly, request: await signedRequestFor(api, analyst, remoteOnly) })
      .catch((e: unknown) => e as { code: string; message: string });
    expect(refused).toMatchObject({
      code: 'dry_run_remote_only',
      message: expect.stringContaining(nodes.b.url),
    });
  }, 60_000);

  it("fails as a whole, naming the node, when one node's policy refuses; releases nothing", async () => {
    const job = await run(AGGREGATE(), [ids.a, ids.b, ids.c_strict] as string[]);
    expect(job.status).toBe('failed');
    expect(job.error?.message).toContain(nodes.c.url);
    expect(job.result).toBeUndefined();
  }, 60_000);

  it('refuses a join across nodes, and datasets of one input whose schemas differ, naming them', async () => {
    const joined = JSON.stringify({
      obscura: 1,
      name: 'joined',
      inputs: {
        visits: { columns: { region: 'string', age: 'int64', cost: 'float64' } },
        more: { columns: { region: 'string', age: 'int64', cost: 'float64' } },
      },
      steps: [
        { id: 'j', join: { left: 'visits', right: 'more', on: ['region'] } },
        { id: 'agg', aggregate: { from: 'j', group_by: ['region'], measures: { n: { count: '*' } } } },
      ],
      outputs: { agg: { min_group_size: 10 } },
    });
    const refused = await postJob(nodes.a.url, analyst, {
      pipeline: joined,
      inputs: { visits: ids.a as string, more: ids.b as string },
    }).catch((e: unknown) => e as { code: string; message: string });
    expect(refused).toMatchObject({ code: 'federation_join_across_nodes' });
    const mismatch = await submit(AGGREGATE(), [ids.a, ids.b_other] as string[]).catch(
      (e: unknown) => e as { code: string; message: string },
    );
    expect(mismatch).toMatchObject({ code: 'federation_schema_mismatch' });
    expect((mismatch as { message: string }).message).toContain(ids.b_other);
  }, 60_000);

  it("federated training over the three nodes: one model, named with every node, every worker's part verifying", async () => {
    const job = await run(TRAIN(2), [ids.a, ids.b, ids.c] as string[]);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const doc = parseResultDocument(
      await new ApiClient(nodes.a.url, analyst).get(`/v1/results/${job.result}`),
    );
    expect(doc.signed.result.federation?.workers.map((w) => w.worker).sort()).toEqual(
      ['worker-1', `worker-1@${nodes.b.url}`, `worker-1@${nodes.c.url}`].sort(),
    );
    expect(doc.signed.result.inputs.map((i) => i.dataset).sort()).toEqual([ids.a, ids.b, ids.c].sort());
    // Every worker's part (evidence, signed statement, sealed statistics) checks, as for an aggregate.
    const verdict = await verifyResultDocument(doc, { chainEndpoint: chain, allowSimulated: true });
    expect(verdict.checks.filter((c) => !c.ok)).toEqual([]);
    expect(verdict.checks.filter((c) => c.name.startsWith('member ')).length).toBe(3);
  }, 120_000);

  it('a node whose enclave runs other code is refused, named', async () => {
    const refused = await submit(AGGREGATE(), [ids.a, ids.d] as string[]).catch(
      (e: unknown) => e as { code: string; message: string },
    );
    expect(refused).toMatchObject({ code: 'federation_node_code_not_accepted' });
    expect((refused as { message: string }).message).toContain(nodes.d.url);
  }, 60_000);

  // Last: it kills C.
  it('a node killed in the middle of a job fails the job at once, naming it, and releases nothing; a job over its data is then refused', async () => {
    const api = new ApiClient(nodes.a.url, analyst);
    const later = { pipeline: AGGREGATE(), inputs: { visits: [ids.a, ids.c] as string[] } };
    const signedWhileUp = await signedRequestFor(api, analyst, later);
    let job = await submit(TRAIN(500), [ids.a, ids.b, ids.c] as string[]);
    // Mid-job: once the rounds have begun.
    for (let t = Date.now(); !/round [2-9]/.test(job.message); ) {
      expect(job.status, JSON.stringify(job.error)).not.toMatch(/succeeded|failed/);
      expect(Date.now() - t).toBeLessThan(60_000);
      await new Promise((r) => setTimeout(r, 100));
      job = JobRecordSchema.parse(await api.get(`/v1/jobs/${job.id}`));
    }
    const killedAt = Date.now();
    nodes.c.child.kill('SIGKILL');
    const failed = await finished(nodes.a.url, analyst, job, 60_000);
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('federation_node_unreachable');
    expect(failed.error?.message).toContain(nodes.c.url);
    expect(failed.result).toBeUndefined();
    expect(Date.now() - killedAt).toBeLessThan(20_000);
    const t0 = Date.now();
    const down = await api
      .post('/v1/jobs', { ...later, request: signedWhileUp })
      .catch((e: unknown) => e as { code: string; message: string });
    expect(down).toMatchObject({ code: 'federation_node_unreachable' });
    expect((down as { message: string }).message).toContain(nodes.c.url);
    expect(Date.now() - t0).toBeLessThan(15_000);
  }, 120_000);
});
