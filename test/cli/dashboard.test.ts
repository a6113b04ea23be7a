/**
 * `obscura dashboard --key K` against a real host: it serves the dashboard page on
 * 127.0.0.1 and forwards the page's reads to the API signed as K, so the analyst sees their
 * result there while the host-served page, unsigned, sees only public parts. The proxy
 * forwards GETs only and answers only requests addressed to its own loopback address.
 * Results come from the host sealed to their readers: the proxy opens them with the key
 * (checked against the signed hashes) so the page can draw them, and says why when the key
 * is not a reader.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/client.ts';
import { submitJob } from '../../src/client/job-request.ts';
import { type DashboardProxy, SIGNED_AS_HEADER, startDashboardProxy } from '../../src/cli/dashboard-proxy.ts';
import {
  type AccountKey,
  accountKeyFromSuri,
  createKeyFile,
  loadAccountKey,
} from '../../src/crypto/index.ts';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import { JobRecordSchema } from '../../src/contracts/api-records.ts';
import { obscura } from '../helpers/cli.ts';
import { type DataHost, startDataHost } from '../helpers/data-host.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';
import { finished } from '../helpers/jobs.ts';

const PIPELINE = readFileSync(join(PROJECT_ROOT, 'pipelines/cost-by-region.yaml'), 'utf8');

let t: DataHost;
const work = mkdtempSync(join(tmpdir(), 'obscura-dash-'));
let analyst: AccountKey;
let proxy: DashboardProxy;
let result: string;

beforeAll(async () => {
  t = await startDataHost({ enclaveSpawn: inProcessEnclave });
  const owner = await accountKeyFromSuri('//DashOwner');
  await createKeyFile(join(work, 'analyst.key'));
  analyst = await loadAccountKey(join(work, 'analyst.key'));
  const { dataset } = await t.seal({ owner, analysts: [analyst] });
  const api = new ApiClient(t.host.url, analyst);
  let job = JobRecordSchema.parse(
    await submitJob(api, analyst, { pipeline: PIPELINE, inputs: { visits: dataset } }),
  );
  job = await finished(t.host.url, analyst, job);
  expect(job.status).toBe('succeeded');
  result = job.result as string;
  proxy = await startDashboardProxy(api, 0, analyst);
}, 180_000);

afterAll(async () => {
  await proxy?.close();
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

/** A raw request to the proxy, with a chosen Host header. */
function raw(
  method: string,
  path: string,
  host?: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const url = new URL(path, proxy.url);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('obscura dashboard', () => {
  it('serves the same page as the host, and shows the signed-in reader its results', async () => {
    const page = await raw('GET', '/');
    expect(page.status).toBe(200);
    expect(page.body).toBe(await (await fetch(new URL('/', t.host.url))).text());
    const list = await raw('GET', '/v1/results');
    expect(list.status).toBe(200);
    expect(list.headers[SIGNED_AS_HEADER]).toBe(analyst.address);
    expect((JSON.parse(list.body) as { results: { id: string }[] }).results.map((r) => r.id)).toEqual([
      result,
    ]);
    const doc = await raw('GET', `/v1/results/${result}`);
    expect(doc.status).toBe(200);
    // Sealed on the host, opened here: the page gets the tables beside the signed document.
    const opened = JSON.parse(doc.body) as {
      signed: { result: { outputs: { visibility: string } } };
      ciphertext: string;
      opened: { outputs: Record<string, { rows: unknown[][] }> };
    };
    expect(opened.signed.result.outputs.visibility).toBe('sealed');
    expect(Object.keys(opened.opened.outputs)).toEqual(['by_region']);
    expect(opened.opened.outputs.by_region?.rows.length).toBeGreaterThan(0);
    expect((await raw('GET', `/v1/results/${result}/provenance`)).status).toBe(200);
    expect((await raw('GET', '/v1/datasets')).status).toBe(200);
    // Two identical reads in a row each get their own signature (never a replay).
    expect(
      (await Promise.all([raw('GET', '/v1/jobs'), raw('GET', '/v1/jobs')])).map((r) => r.status),
    ).toEqual([200, 200]);
  });

  it('the host-served page, unsigned, gets only the public parts', async () => {
    expect((await fetch(new URL('/v1/results', t.host.url)).then((r) => r.json())) as unknown).toEqual({
      results: [],
      next: null,
    });
    expect((await fetch(new URL(`/v1/results/${result}`, t.host.url))).status).toBe(401);
    expect((await fetch(new URL('/v1/datasets', t.host.url))).status).toBe(401);
    expect((await fetch(new URL('/v1/workers', t.host.url))).status).toBe(200);
  });

  it('says why it cannot open a result for a key that is not one of its readers', async () => {
    // Fetched as the analyst, opened with another key (as with a copy of the document): no tables, and the reason.
    const stranger = await accountKeyFromSuri('//DashStranger');
    const other = await startDashboardProxy(new ApiClient(t.host.url, analyst), 0, stranger);
    try {
      const body = (await (await fetch(new URL(`/v1/results/${result}`, other.url))).json()) as {
        opened: { outputs?: unknown; error?: { code: string } };
      };
      expect(body.opened).toEqual({ error: { code: 'result_not_a_reader', message: expect.any(String) } });
    } finally {
      await other.close();
    }
  });

  it('forwards reads only, and only to its own address', async () => {
    for (const method of ['POST', 'PUT', 'DELETE'])
      expect((await raw(method, '/v1/jobs')).status, method).toBe(405);
    // A page on another name rebound to 127.0.0.1 (DNS rebinding) is refused.
    const port = new URL(proxy.url).port;
    expect((await raw('GET', '/v1/results', `evil.example:${port}`)).status).toBe(403);
    expect((await raw('GET', '/v1/results', `localhost:${port}`)).status).toBe(200);
    expect((await raw('GET', '/metrics')).status).toBe(404);
  });

  it('the command needs a key, and says so in one line', async () => {
    const r = await obscura(['dashboard', '--api', t.host.url], { cwd: work });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--key.*OBSCURA_KEY.*\(key_required\)/);
  });
});
