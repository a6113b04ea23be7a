/**
 * Federated aggregates across three nodes that share one chain and nothing else (their own
 * data directories, ports, operators and enclaves; in-process enclaves keep it cheap). An
 * analyst submits one job to A over a dataset on each node, exactly as `obscura run
 * --input visits=ID_A --input visits=ID_B --input visits=ID_C` does: A finds B's and C's
 * datasets through the chain's registry, each node's enclave computes its partials and
 * seals them to A's enclave, which merges them and only then applies min_group_size and DP.
 *
 * The exact result equals DuckDB's over the union of the three plaintexts; a group small on
 * every node but large in the union is released and one small in the union is not. A DP
 * aggregate charges each node's dataset on that node's ledger. A node whose policy refuses
 * fails the whole job naming it; a join across nodes, datasets of one input whose schemas
 * differ, and a node that is down are refused at submission, naming what.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/client.ts';
import { accountKeyFromSuri, type AccountKey } from '../../src/crypto/index.ts';
import { parseCsv } from '../../src/data/csv.ts';
import { parsePipeline, runPipeline } from '../../src/pipelines/index.ts';
import { parseResultDocument } from '../../src/provenance/document.ts';
import { verifyResultDocument } from '../../src/provenance/index.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';
import { startTestHost } from '../helpers/host.ts';
import { sealAndUpload } from '../helpers/datasets.ts';
import { finished, postJob, resultOutputs } from '../helpers/jobs.ts';
import { JobRecordSchema } from '../../src/contracts/api-records.ts';
import { signedRequestFor } from '../../src/client/job-request.ts';

type TestHost = Awaited<ReturnType<typeof startTestHost>>;
let a: TestHost;
let b: TestHost;
let c: TestHost;
let analyst: AccountKey;
const work = mkdtempSync(join(tmpdir(), 'obscura-fedagg-'));
const ids: Record<string, string> = {};
const csv: Record<string, string> = {};

const PIPELINE = (extra: Record<string, unknown> = {}) =>
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
          measures: {
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

/** Rows per region on one node: north 4 + 4 + 4 and south 6 + 5 reach 10 only together; east and west never do. */
function rows(node: number, counts: Record<string, number>): string {
  const lines = ['region,age,cost'];
  let i = 0;
  for (const [region, n] of Object.entries(counts))
    for (let r = 0; r < n; r++, i++)
      lines.push(`${region},${20 + ((node * 7 + i * 13) % 60)},${(node * 31 + i * 17) % 500}.25`);
  return `${lines.join('\n')}\n`;
}

async function upload(host: TestHost, key: string, owner: AccountKey, text: string, policy?: string) {
  const file = join(work, `${key}.csv`);
  writeFileSync(file, text);
  csv[key] = text;
  const worker = host.host.workers.list()[0] as NonNullable<ReturnType<typeof host.host.workers.list>[0]>;
  const { dataset } = await sealAndUpload({
    url: host.host.url,
    file,
    out: `${file}.sealed`,
    owner,
    worker,
    analysts: [analyst.address],
    ...(policy ? { policy } : {}),
  });
  ids[key] = dataset;
}

beforeAll(async () => {
  a = await startTestHost({ registerNode: true, enclaveSpawn: inProcessEnclave });
  [b, c] = await Promise.all([
    startTestHost({
      chainEndpoint: a.host.chainEndpoint,
      registerNode: true,
      enclaveSpawn: inProcessEnclave,
    }),
    startTestHost({
      chainEndpoint: a.host.chainEndpoint,
      registerNode: true,
      enclaveSpawn: inProcessEnclave,
    }),
  ]);
  analyst = await accountKeyFromSuri(`0x${'a1'.repeat(32)}`);
  const owners = await Promise.all(['b1', 'b2', 'b3'].map((s) => accountKeyFromSuri(`0x${s.repeat(32)}`)));
  const dp = 'obscura-policy: 1\ndp: { epsilon: 3, delta: 1.0e-5, max_epsilon_per_job: 1 }\n';
  await Promise.all([
    upload(a, 'a', owners[0] as AccountKey, rows(0, { north: 4, south: 6, east: 2 }), dp),
    upload(b, 'b', owners[1] as AccountKey, rows(1, { north: 4, south: 5, east: 1 }), dp),
    upload(c, 'c', owners[2] as AccountKey, rows(2, { north: 4, west: 2, east: 1 }), dp),
  ]);
  // C's second dataset: its owner lets no one group by region.
  await upload(
    c,
    'c_strict',
    owners[2] as AccountKey,
    rows(3, { north: 12 }),
    'obscura-policy: 1\ncolumns:\n  group_by: [age]\n  aggregate: [cost, age]\n',
  );
  // B's second dataset: another schema.
  await upload(b, 'b_other', owners[1] as AccountKey, 'region,age\nnorth,40\n');
}, 180_000);

afterAll(async () => {
  await Promise.allSettled([a?.close(), b?.close(), c?.close()]);
  rmSync(work, { recursive: true, force: true });
});

async function run(pipeline: string, visits: string[], at = a) {
  const job = JobRecordSchema.parse(await postJob(at.host.url, analyst, { pipeline, inputs: { visits } }));
  return finished(at.host.url, analyst, job, 60_000);
}

describe('a federated aggregate across three nodes', () => {
  it("equals DuckDB's on the union of the three plaintexts, releasing only groups the union makes large enough", async () => {
    const job = await run(PIPELINE(), [ids.a, ids.b, ids.c] as string[]);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const outputs = await resultOutputs(a.host.url, analyst, job.result as string);
    // DuckDB over the union of the plaintexts, with the same release rule.
    const union = [csv.a, csv.b, csv.c]
      .map((t, i) => (i === 0 ? t : (t as string).split('\n').slice(1).join('\n')))
      .join('');
    const local = await runPipeline(parsePipeline(PIPELINE()), {
      visits: parseCsv(new TextEncoder().encode(union)),
    });
    const got = outputs.by_region;
    const want = local.by_region;
    expect(got?.rows.map((r) => r[0])).toEqual(['north', 'south']);
    expect(want?.rows.map((r) => r[0])).toEqual(['north', 'south']);
    for (const [i, row] of (want?.rows ?? []).entries())
      for (const [j, v] of row.entries()) {
        const g = got?.rows[i]?.[j];
        if (typeof v === 'number') expect(g as number).toBeCloseTo(v, 9);
        else expect(g).toEqual(v);
      }
    expect(got?.suppressedGroups).toBe(2);
    // One signed document naming every worker (the other nodes' by URL) and every dataset.
    const doc = parseResultDocument(
      await new ApiClient(a.host.url, analyst).get(`/v1/results/${job.result}`),
    );
    const result = doc.signed.result;
    expect(result.inputs.map((i) => i.dataset).sort()).toEqual([ids.a, ids.b, ids.c].sort());
    expect(result.federation?.workers.map((w) => w.worker).sort()).toEqual(
      ['worker-1', `worker-1@${b.host.url}`, `worker-1@${c.host.url}`].sort(),
    );
    expect(doc.anchor.blockNumber).toBeGreaterThan(0);
    // `obscura verify`'s check: the coordinating enclave's signature and attestation, the anchor,
    // and every member enclave's part (its attestation, its signed partial and statement).
    const verdict = await verifyResultDocument(doc, {
      chainEndpoint: a.host.chainEndpoint,
      allowSimulated: true,
    });
    expect(verdict.checks.filter((c) => !c.ok)).toEqual([]);
    expect(
      verdict.checks
        .filter((c) => c.name.startsWith('member '))
        .map((c) => c.name)
        .sort(),
    ).toEqual(['member worker-1', `member worker-1@${b.host.url}`, `member worker-1@${c.host.url}`].sort());
  }, 120_000);

  it('a DP aggregate: noised once after the merge, each node charging its own dataset on its own ledger', async () => {
    const dp = JSON.parse(PIPELINE({ dp: { epsilon: 0.5, delta: 1e-6 } }));
    dp.steps[0].aggregate.measures = { n: { count: '*' }, total: { sum: 'cost', bounds: [0, 1000] } };
    const job = await run(JSON.stringify(dp), [ids.a, ids.b, ids.c] as string[]);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const outputs = await resultOutputs(a.host.url, analyst, job.result as string);
    expect(outputs.by_region?.dp).toBeDefined();
    for (const [host, id] of [
      [a, ids.a],
      [b, ids.b],
      [c, ids.c],
    ] as const) {
      const budget = (await new ApiClient(host.host.url, analyst).get(`/v1/datasets/${id}/budget`)) as {
        epsilon: { spent: number };
      };
      expect(budget.epsilon.spent).toBeCloseTo(0.5, 9);
    }
  }, 120_000);

  it('a dry run locates the datasets of other nodes and says they are checked there when the job runs', async () => {
    const api = new ApiClient(a.host.url, analyst);
    const body = { pipeline: PIPELINE(), inputs: { visits: [ids.a, ids.b, ids.c] as string[] } };
    const preview = await api.dryRun({ ...body, request: await signedRequestFor(api, analyst, body) });
    expect(preview.ok).toBe(true);
    const other = preview.checks.find((ch) => ch.check === 'other nodes');
    expect(other?.detail).toContain(`${ids.b} on node ${b.host.url}`);
    expect(other?.detail).toContain(`${ids.c} on node ${c.host.url}`);
    expect(preview.warnings.map((w) => w.code)).toContain('federation_checked_at_run');
    const remoteOnly = { pipeline: PIPELINE(), inputs: { visits: [ids.b, ids.c] as string[] } };
    const refused = await api
      .dryRun({ ...remoteOnly, request: await signedRequestFor(api, analyst, remoteOnly) })
      .catch((e: unknown) => e as { code: string; message: string });
    expect(refused).toMatchObject({
      code: 'dry_run_remote_only',
      message: expect.stringContaining(b.host.url),
    });
  }, 60_000);

  it("fails as a whole, naming the node, when one node's policy refuses", async () => {
    const job = await run(PIPELINE(), [ids.a, ids.b, ids.c_strict] as string[]);
    expect(job.status).toBe('failed');
    expect(job.error?.message).toContain(c.host.url);
    expect(job.result).toBeUndefined();
  }, 120_000);

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
    const refused = await postJob(a.host.url, analyst, {
      pipeline: joined,
      inputs: { visits: ids.a as string, more: ids.b as string },
    }).catch((e: unknown) => e as { code: string; message: string });
    expect(refused).toMatchObject({ code: 'federation_join_across_nodes' });
    const mismatch = await postJob(a.host.url, analyst, {
      pipeline: PIPELINE(),
      inputs: { visits: [ids.a as string, ids.b_other as string] },
    }).catch((e: unknown) => e as { code: string; message: string });
    expect(mismatch).toMatchObject({ code: 'federation_schema_mismatch' });
    expect((mismatch as { message: string }).message).toContain(ids.b_other);
  }, 60_000);

  // Last: it stops C.
  it('refuses at once, naming the node, a job over a dataset of a node that is down', async () => {
    const signedWhileUp = await import('../../src/client/job-request.ts').then((m) =>
      m.signedRequestFor(new ApiClient(a.host.url, analyst), analyst, {
        pipeline: PIPELINE(),
        inputs: { visits: [ids.a as string, ids.c as string] },
      }),
    );
    await c.close();
    const t0 = Date.now();
    const down = await new ApiClient(a.host.url, analyst)
      .post('/v1/jobs', { pipeline: PIPELINE(), inputs: { visits: [ids.a, ids.c] }, request: signedWhileUp })
      .catch((e: unknown) => e as { code: string; message: string });
    expect(down).toMatchObject({ code: 'federation_node_unreachable' });
    expect((down as { message: string }).message).toContain(c.host.url);
    expect(Date.now() - t0).toBeLessThan(15_000);
  }, 60_000);
});
