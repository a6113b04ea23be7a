/**
 * Attack: call every route of the API as someone the data's owners did not allow (nobody
 * at all, an analyst the manifest does not name, the host's operator) and read what it
 * returns: results, jobs with their analyst, purpose and failure, approvals, manifests,
 * policies, budgets, pipelines. Promise broken if it works: "every request is signed,
 * reads included, and each route answers only the accounts the data's owners allowed"
 * (issue 14, finding 1). Refusals must not confirm that an id exists.
 *
 * The test walks every route of the served OpenAPI document × five roles (anonymous,
 * owner, allowed analyst, other analyst, operator) against a real host; a route in the
 * document without an expectation here fails it, so a new route needs a rule and a row.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/client.ts';
import { submitJob } from '../../src/client/job-request.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import { parsePipeline, pipelineHash } from '../../src/pipelines/index.ts';
import { type JobRecord, JobRecordSchema, ResultDocumentSchema } from '../../src/contracts/api-records.ts';
import { manifestHash, type SignedManifest } from '../../src/crypto/manifest.ts';
import { parseDatasetPolicy, signPolicyUpdate } from '../../src/privacy/index.ts';
import { type DataHost, startDataHost } from '../helpers/data-host.ts';
import { settled } from '../helpers/jobs.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';

const PIPELINE = readFileSync(join(PROJECT_ROOT, 'pipelines/cost-by-region.yaml'), 'utf8');
const PUBLIC_PIPELINE = PIPELINE.replace(
  'name: cost-by-region',
  'name: cost-by-region-public\nvisibility: public',
);

const PUBLIC_HASH = pipelineHash(parsePipeline(PUBLIC_PIPELINE));

const ROLES = ['anonymous', 'owner', 'analyst', 'other', 'operator'] as const;
type Role = (typeof ROLES)[number];

let t: DataHost;
const keys = {} as Record<Exclude<Role, 'anonymous'>, AccountKey>;
const ids = {} as {
  worker: string;
  dataset: string;
  approvalDataset: string;
  publicDataset: string;
  job: string;
  result: string;
  pipeline: string;
  waiting: string;
  failed: string;
  publicJob: string;
  publicResult: string;
  notPublicJob: string;
  notPublicResult: string;
};

function client(role: Role): ApiClient {
  return new ApiClient(t.host.url, role === 'anonymous' ? undefined : keys[role]);
}

async function call(
  role: Role,
  method: 'get' | 'post' | 'delete',
  path: string,
  body: unknown = {},
): Promise<{ status: number; body: unknown }> {
  try {
    const api = client(role);
    return {
      status: 200,
      body:
        method === 'get'
          ? await api.get(path)
          : method === 'delete'
            ? await api.delete(path)
            : await api.post(path, body),
    };
  } catch (e) {
    const err = e as { status: number; code: string };
    return { status: err.status, body: { code: err.code } };
  }
}

async function run(pipeline: string, dataset: string): Promise<{ job: string; result: string }> {
  const api = new ApiClient(t.host.url, keys.analyst);
  const submitted = JobRecordSchema.parse(
    await submitJob(api, keys.analyst, { pipeline, inputs: { visits: dataset } }),
  );
  const done = await settled(t.host.url, keys.analyst, submitted.id);
  expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
  return { job: done.id, result: done.result as string };
}

beforeAll(async () => {
  keys.owner = await accountKeyFromSuri('//RolesOwner');
  keys.analyst = await accountKeyFromSuri('//RolesAnalyst');
  keys.other = await accountKeyFromSuri('//RolesOther');
  keys.operator = await accountKeyFromSuri('//RolesOperator');
  t = await startDataHost({ operators: [keys.operator.address], enclaveSpawn: inProcessEnclave });
  ids.worker = t.worker.id;
  const base = { owner: keys.owner, analysts: [keys.analyst] };
  ids.dataset = (await t.seal(base)).dataset;
  ids.approvalDataset = (
    await t.seal({ ...base, policy: 'obscura-policy: 1\npipelines: approval\n' })
  ).dataset;
  ids.publicDataset = (await t.seal({ ...base, policy: 'obscura-policy: 1\nresults: public\n' })).dataset;
  const analyst = new ApiClient(t.host.url, keys.analyst);
  ids.pipeline = ((await analyst.post('/v1/pipelines', { document: PIPELINE })) as { hash: string }).hash;
  ({ job: ids.job, result: ids.result } = await run(PIPELINE, ids.dataset));
  // Public only when the pipeline asks for it and every input's policy allows it.
  ({ job: ids.publicJob, result: ids.publicResult } = await run(PUBLIC_PIPELINE, ids.publicDataset));
  ({ job: ids.notPublicJob, result: ids.notPublicResult } = await run(PUBLIC_PIPELINE, ids.dataset));
  const waiting = JobRecordSchema.parse(
    await submitJob(analyst, keys.analyst, {
      pipeline: PIPELINE,
      inputs: { visits: ids.approvalDataset },
      purpose: 'roles study',
    }),
  );
  expect(waiting.status).toBe('awaiting_approval');
  ids.waiting = waiting.id;
  // A failed job, its reason written as the runner writes one.
  const failing = JobRecordSchema.parse(
    await submitJob(analyst, keys.analyst, {
      pipeline: PIPELINE,
      inputs: { visits: ids.approvalDataset },
      purpose: 'to fail',
    }),
  );
  const db = new Database(join(t.dataDir, 'obscura.sqlite'));
  db.prepare(
    `UPDATE jobs SET status = 'failed', awaiting_approval = 0, error_code = 'job_failed_here', error_message = 'the reason only its analyst reads', message = 'failed' WHERE id = ?`,
  ).run(failing.id);
  db.close();
  ids.failed = failing.id;
}, 240_000);

afterAll(async () => {
  await t?.close();
});

/** Expected status per role; `url` fills the path's parameters; lists say which ids each role sees. */
interface Row {
  url: string;
  body?: unknown;
  status: Record<Role, number>;
  list?: { key: string; id: string; sees: Record<Role, string[]> };
}

const all = (s: number): Record<Role, number> => ({
  anonymous: s,
  owner: s,
  analyst: s,
  other: s,
  operator: s,
});
const signed = (s: number): Record<Role, number> => ({ ...all(s), anonymous: 401 });
const readers = (): Record<Role, number> => ({
  anonymous: 401,
  owner: 200,
  analyst: 200,
  other: 404,
  operator: 404,
});

function table(): Record<string, Row> {
  const involved = (...v: string[]) => ({ anonymous: [], owner: v, analyst: v, other: [], operator: [] });
  const jobsAll = [ids.job, ids.publicJob, ids.notPublicJob, ids.waiting, ids.failed];
  return {
    'get /v1/health': { url: '/v1/health', status: all(200) },
    'get /v1/workers': { url: '/v1/workers', status: all(200) },
    'get /v1/workers/{id}/attestation': {
      url: `/v1/workers/${ids.worker}/attestation?nonce=${'ab'.repeat(32)}`,
      status: all(200),
    },
    'get /v1/openapi.json': { url: '/v1/openapi.json', status: all(200) },
    // Public: the chain already publishes every node record.
    'get /v1/nodes': { url: '/v1/nodes', status: all(200) },
    // This in-process host publishes no record and knows no node (test/federation/node-traffic.test.ts: between real nodes).
    'get /v1/federation/node': { url: '/v1/federation/node', status: all(404) },
    'post /v1/federation/relay': {
      url: '/v1/federation/relay',
      body: { worker: 'worker-1', type: 'fed_close', body: { session: 's' } },
      status: signed(403),
    },
    'post /v1/federation/datasets': {
      url: '/v1/federation/datasets',
      body: { request: {} },
      status: signed(403),
    },
    'post /v1/federation/hello': {
      url: '/v1/federation/hello',
      body: { nonce: 'ab'.repeat(32) },
      status: signed(403),
    },
    // A JSON body is not the multipart upload: past the signature check, a 415.
    'post /v1/datasets': { url: '/v1/datasets', status: signed(415) },
    'get /v1/datasets': {
      url: '/v1/datasets',
      status: signed(200),
      list: {
        key: 'datasets',
        id: 'id',
        sees: involved(ids.dataset, ids.approvalDataset, ids.publicDataset),
      },
    },
    'get /v1/datasets/{id}': { url: `/v1/datasets/${ids.dataset}`, status: readers() },
    'post /v1/datasets/{id}/policy': {
      url: `/v1/datasets/${ids.dataset}/policy`,
      status: { anonymous: 401, owner: 400, analyst: 403, other: 404, operator: 404 },
    },
    'get /v1/datasets/{id}/policy': { url: `/v1/datasets/${ids.dataset}/policy`, status: readers() },
    'get /v1/datasets/{id}/budget': { url: `/v1/datasets/${ids.dataset}/budget`, status: readers() },
    'post /v1/pipelines': { url: '/v1/pipelines', status: signed(400) },
    'get /v1/pipelines': {
      url: '/v1/pipelines',
      status: signed(200),
      // A pipeline is readable by who stored it and by the readers of a job that runs it.
      list: {
        key: 'pipelines',
        id: 'hash',
        sees: { ...involved(ids.pipeline, PUBLIC_HASH), other: [PUBLIC_HASH], operator: [PUBLIC_HASH] },
      },
    },
    'get /v1/pipelines/{hash}': { url: `/v1/pipelines/${ids.pipeline}`, status: readers() },
    'post /v1/jobs': { url: '/v1/jobs', status: signed(400) },
    'get /v1/jobs': {
      url: '/v1/jobs',
      status: all(200),
      list: {
        key: 'jobs',
        id: 'id',
        sees: {
          ...involved(...jobsAll),
          anonymous: [ids.publicJob],
          other: [ids.publicJob],
          operator: [ids.publicJob],
        },
      },
    },
    'get /v1/jobs/{id}': { url: `/v1/jobs/${ids.job}`, status: readers() },
    // The job has ended (409 for its analyst); an owner may read it but not cancel it (403).
    'delete /v1/jobs/{id}': {
      url: `/v1/jobs/${ids.job}`,
      status: { anonymous: 401, owner: 403, analyst: 409, other: 404, operator: 404 },
    },
    'get /v1/jobs/{id}/preview': { url: `/v1/jobs/${ids.job}/preview`, status: readers() },
    // Only a job waiting for approval can be refused: this one has ended (409 to its readers).
    'post /v1/jobs/{id}/refusal': {
      url: `/v1/jobs/${ids.job}/refusal`,
      body: { reason: 'not for this purpose' },
      status: { anonymous: 401, owner: 409, analyst: 409, other: 404, operator: 404 },
    },
    'post /v1/approvals': { url: '/v1/approvals', status: signed(400) },
    'get /v1/approvals': {
      url: '/v1/approvals',
      status: signed(200),
      list: { key: 'pending', id: 'job', sees: involved(ids.waiting) },
    },
    'get /v1/results': {
      url: '/v1/results',
      status: all(200),
      list: {
        key: 'results',
        id: 'id',
        sees: {
          ...involved(ids.result, ids.publicResult, ids.notPublicResult),
          anonymous: [ids.publicResult],
          other: [ids.publicResult],
          operator: [ids.publicResult],
        },
      },
    },
    'get /v1/results/{id}': { url: `/v1/results/${ids.result}`, status: readers() },
    'get /v1/results/{id}/provenance': { url: `/v1/results/${ids.result}/provenance`, status: readers() },
    'post /v1/upgrades': {
      url: '/v1/upgrades',
      status: { anonymous: 401, owner: 403, analyst: 403, other: 403, operator: 400 },
    },
    'get /v1/upgrades': { url: '/v1/upgrades', status: signed(200) },
  };
}

describe('every route × every role', () => {
  it('has an expectation for every route of the OpenAPI document, and no other', async () => {
    const doc = (await client('anonymous').get('/v1/openapi.json')) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const served = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((m) => `${m} ${path}`),
    );
    expect(served.sort()).toEqual(Object.keys(table()).sort());
  });

  it('answers each role as the rule table says, and lists only what each may read', async () => {
    const failures: string[] = [];
    for (const [route, row] of Object.entries(table())) {
      const method = route.split(' ')[0] as 'get' | 'post' | 'delete';
      for (const role of ROLES) {
        const r = await call(role, method, row.url, row.body);
        if (r.status !== row.status[role])
          failures.push(
            `${route} as ${role}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}, expected ${row.status[role]}`,
          );
        if (row.list && r.status === 200) {
          const items = (r.body as Record<string, Record<string, string>[]>)[row.list.key] ?? [];
          const seen = items.map((i) => i[row.list?.id as string]).sort();
          const expected = [...row.list.sees[role]].sort();
          if (JSON.stringify(seen) !== JSON.stringify(expected))
            failures.push(`${route} as ${role} lists ${seen.join(',')}, expected ${expected.join(',')}`);
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});

describe('refusals and visibility', () => {
  it('answers an id the caller may not read exactly as one that does not exist', async () => {
    for (const [path, missing] of [
      [`/v1/jobs/${ids.job}`, '/v1/jobs/00000000-0000-4000-8000-000000000000'],
      [`/v1/results/${ids.result}`, `/v1/results/${'0'.repeat(32)}`],
      [`/v1/datasets/${ids.dataset}`, `/v1/datasets/${'0'.repeat(32)}`],
      [`/v1/pipelines/${ids.pipeline}`, `/v1/pipelines/${'0'.repeat(64)}`],
    ] as const) {
      const hidden = await call('other', 'get', path);
      const absent = await call('other', 'get', missing);
      expect(hidden.status, path).toBe(404);
      expect(hidden.body, path).toEqual(absent.body);
      // Unsigned: 401 for both, existing or not.
      expect((await call('anonymous', 'get', path)).status, path).toBe(401);
      expect((await call('anonymous', 'get', missing)).status, path).toBe(401);
    }
  });

  it('revalidates a result by its ETag (304) only for those who may read it', async () => {
    const path = `/v1/results/${ids.result}`;
    const first = await client('owner').fetchSigned(path);
    expect(first.status).toBe(200);
    const body = await first.text();
    const etag = first.headers.get('etag') as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(first.headers.get('cache-control')).toBe('private, no-cache');
    const again = await client('owner').fetchSigned(path, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    // Knowing the tag gets nobody else a 304 (which would confirm the result and its bytes):
    // the access rule answers first.
    expect((await client('other').fetchSigned(path, { 'if-none-match': etag })).status).toBe(404);
    expect((await client('operator').fetchSigned(path, { 'if-none-match': etag })).status).toBe(404);
    expect((await fetch(new URL(path, t.host.url), { headers: { 'if-none-match': etag } })).status).toBe(401);
    // Another tag gets the same bytes again.
    const stale = await client('analyst').fetchSigned(path, { 'if-none-match': '"stale", W/"x"' });
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe(body);
  });

  it('shows a public result to anyone only when the pipeline and every input policy allow it', async () => {
    for (const role of ROLES) {
      expect((await call(role, 'get', `/v1/results/${ids.publicResult}`)).status, role).toBe(200);
      expect((await call(role, 'get', `/v1/results/${ids.publicResult}/provenance`)).status, role).toBe(200);
      expect((await call(role, 'get', `/v1/jobs/${ids.publicJob}`)).status, role).toBe(200);
    }
    // visibility: public over a dataset whose policy keeps results private: private.
    expect((await call('anonymous', 'get', `/v1/results/${ids.notPublicResult}`)).status).toBe(401);
    expect((await call('other', 'get', `/v1/results/${ids.notPublicResult}`)).status).toBe(404);
    expect((await call('owner', 'get', `/v1/results/${ids.notPublicResult}`)).status).toBe(200);
    // The enclave decided the same: only the result the owners made public carries its tables in the clear.
    const outputsOf = async (id: string) =>
      ResultDocumentSchema.parse((await call('owner', 'get', `/v1/results/${id}`)).body).signed.result.outputs
        .visibility;
    expect(await outputsOf(ids.publicResult)).toBe('public');
    expect(await outputsOf(ids.notPublicResult)).toBe('sealed');
    // The dry run tells the analyst before running that the results would stay private.
    const codes = async (dataset: string) =>
      (
        (
          await call('analyst', 'post', '/v1/jobs?dry_run=true', {
            pipeline: PUBLIC_PIPELINE,
            inputs: { visits: dataset },
          })
        ).body as { warnings: { code: string }[] }
      ).warnings.map((w) => w.code);
    expect(await codes(ids.dataset)).toContain('results_stay_private');
    expect(await codes(ids.publicDataset)).not.toContain('results_stay_private');
  });

  it("shows a job's failure to its analyst only", async () => {
    const mine = JobRecordSchema.parse((await call('analyst', 'get', `/v1/jobs/${ids.failed}`)).body);
    expect(mine.error).toEqual({ code: 'job_failed_here', message: 'the reason only its analyst reads' });
    const owners = (await call('owner', 'get', `/v1/jobs/${ids.failed}`)).body as JobRecord;
    expect(owners.status).toBe('failed');
    expect(JSON.stringify(owners)).not.toMatch(/job_failed_here|only its analyst/);
    const listed = (await call('owner', 'get', '/v1/jobs')).body as { jobs: JobRecord[] };
    expect(JSON.stringify(listed)).not.toMatch(/job_failed_here|only its analyst/);
  });

  it('refuses a job over a dataset the analyst may not read as if the dataset did not exist', async () => {
    const r = await call('other', 'post', '/v1/jobs', {
      pipeline: PIPELINE,
      inputs: { visits: ids.dataset },
    });
    const missing = await call('other', 'post', '/v1/jobs', {
      pipeline: PIPELINE,
      inputs: { visits: '0'.repeat(32) },
    });
    expect(r).toEqual({ status: 404, body: { code: 'dataset_not_found' } });
    expect(missing).toEqual(r);
  });

  it('answers 404 to a path no route of the table matches, signed or not', async () => {
    expect((await call('anonymous', 'get', '/v1/secret')).status).toBe(404);
    expect((await call('operator', 'get', '/v1/jobs/x/y')).status).toBe(404);
  });

  // Last: it makes the public result private. Read-access decisions are remembered while the
  // database is unchanged (access-cache.ts); a policy change must end them at once.
  it('stops serving a public result the moment its owner keeps results private again', async () => {
    const path = `/v1/results/${ids.publicResult}`;
    const before = await fetch(new URL(path, t.host.url));
    expect(before.status).toBe(200);
    const etag = before.headers.get('etag') as string;
    expect((await fetch(new URL(path, t.host.url), { headers: { 'if-none-match': etag } })).status).toBe(304);
    const record = (await client('owner').get(`/v1/datasets/${ids.publicDataset}`)) as {
      manifest: SignedManifest;
    };
    const update = signPolicyUpdate(
      {
        dataset: manifestHash(record.manifest.manifest),
        version: 2,
        policy: parseDatasetPolicy('obscura-policy: 1\nresults: private\n'),
        revoked: false,
      },
      keys.owner,
    );
    await client('owner').post(`/v1/datasets/${ids.publicDataset}/policy`, update);
    expect((await fetch(new URL(path, t.host.url))).status).toBe(401);
    expect((await fetch(new URL(path, t.host.url), { headers: { 'if-none-match': etag } })).status).toBe(401);
    expect((await call('other', 'get', path)).status).toBe(404);
  });
});
