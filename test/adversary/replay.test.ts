/**
 * Attack: capture one signed request (a job submission, a read) and send it again: with
 * the signature's hex letters in another case (the same bytes, another string), and after
 * the host restarts (a guard kept in memory forgets everything). Promise broken if it
 * works: "a captured request cannot be replayed" (issue 14, finding 5: three case-flipped
 * replays got 201, and every replay worked again after a restart).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HEADER_ACCOUNT,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  requestSigningBytes,
} from '../../src/contracts/request-signing.ts';
import { type RunningHost, startHost } from '../../src/host/api/host.ts';
import { ApiClient } from '../../src/cli/client.ts';
import { signedRequestFor } from '../../src/client/job-request.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import { sealAndUpload } from '../helpers/datasets.ts';
import { workerChain } from '../helpers/worker-chain.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';

const CSV = join(PROJECT_ROOT, 'datasets/visits.csv');
const PIPELINE =
  'obscura: 1\nname: replayed\ninputs:\n  visits:\n    columns: { region: string }\nsteps:\n  - id: n\n    aggregate: { from: visits, group_by: [region], measures: { n: { count: "*" } } }\noutputs:\n  n: { min_group_size: 10 }\n';

const dataDir = mkdtempSync(join(tmpdir(), 'obscura-replay-'));
let host: RunningHost;
let owner: AccountKey;
let analyst: AccountKey;
let dataset: string;

const start = async () =>
  startHost({
    dataDir,
    port: 0,
    chainEndpoint: (await workerChain()).endpoint,
    enclaveSpawn: inProcessEnclave,
  });

/** A signed request as it crossed the wire: method, path, body and headers. */
interface Captured {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  headers: Record<string, string>;
}

function capture(key: AccountKey, method: 'GET' | 'POST', path: string, json?: unknown): Captured {
  const body = json === undefined ? undefined : JSON.stringify(json);
  const timestamp = String(Date.now());
  const signature = key.sign(
    requestSigningBytes(
      method,
      path,
      timestamp,
      createHash('sha256')
        .update(body ?? '')
        .digest('hex'),
    ),
  );
  return {
    method,
    path,
    ...(body === undefined ? {} : { body }),
    headers: {
      [HEADER_ACCOUNT]: key.address,
      [HEADER_TIMESTAMP]: timestamp,
      [HEADER_SIGNATURE]: signature,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
  };
}

async function send(
  c: Captured,
  signature = c.headers[HEADER_SIGNATURE] as string,
): Promise<{ status: number; code?: string }> {
  const res = await fetch(new URL(c.path, host.url), {
    method: c.method,
    headers: { ...c.headers, [HEADER_SIGNATURE]: signature },
    body: c.body ?? null,
  });
  const body = (await res.json()) as { code?: string };
  return { status: res.status, ...(body.code ? { code: body.code } : {}) };
}

/** The signature with its n-th hex letter (after 0x) upper-cased: the same bytes, another string. */
function caseFlipped(signature: string, n: number): string {
  const letters = [...signature.matchAll(/[a-f]/g)].filter((m) => (m.index as number) >= 2);
  const at = letters[n % letters.length]?.index as number;
  return signature.slice(0, at) + signature.charAt(at).toUpperCase() + signature.slice(at + 1);
}

async function jobCount(): Promise<number> {
  return ((await new ApiClient(host.url, analyst).get('/v1/jobs')) as { jobs: unknown[] }).jobs.length;
}

beforeAll(async () => {
  owner = await accountKeyFromSuri('//ReplayOwner');
  analyst = await accountKeyFromSuri('//ReplayAnalyst');
  host = await start();
  const w = host.workers.list()[0];
  if (!w) throw new Error('no worker');
  ({ dataset } = await sealAndUpload({
    url: host.url,
    file: CSV,
    out: join(dataDir, 'v.sealed'),
    owner,
    worker: w,
    analysts: [analyst.address],
  }));
}, 180_000);

afterAll(async () => {
  await host?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('replayed requests', () => {
  let submission: Captured;
  let read: Captured;

  it('refuses a job submission replayed with its signature in another hex case', async () => {
    const job = { pipeline: PIPELINE, inputs: { visits: dataset } };
    const request = await signedRequestFor(new ApiClient(host.url, analyst), analyst, job);
    submission = capture(analyst, 'POST', '/v1/jobs', { ...job, request });
    expect((await send(submission)).status).toBe(202);
    const before = await jobCount();
    for (let n = 0; n < 3; n++) {
      const flipped = caseFlipped(submission.headers[HEADER_SIGNATURE] as string, n);
      expect(flipped).not.toBe(submission.headers[HEADER_SIGNATURE]);
      expect(await send(submission, flipped)).toEqual({ status: 401, code: 'request_replayed' });
    }
    expect(
      await send(
        submission,
        (submission.headers[HEADER_SIGNATURE] as string).toUpperCase().replace(/^0X/, '0x'),
      ),
    ).toEqual({ status: 401, code: 'request_replayed' });
    expect(await send(submission)).toEqual({ status: 401, code: 'request_replayed' });
    expect(await jobCount()).toBe(before);
  });

  it('refuses a replayed read, and a fresh signature of the same request', async () => {
    read = capture(analyst, 'GET', '/v1/jobs');
    expect((await send(read)).status).toBe(200);
    expect(await send(read)).toEqual({ status: 401, code: 'request_replayed' });
    // sr25519 signatures are randomised: a second signature of the same message is still the same request.
    const resigned = analyst.sign(
      requestSigningBytes(
        'GET',
        '/v1/jobs',
        read.headers[HEADER_TIMESTAMP] as string,
        createHash('sha256').update('').digest('hex'),
      ),
    );
    expect(resigned).not.toBe(read.headers[HEADER_SIGNATURE]);
    expect(await send(read, resigned)).toEqual({ status: 401, code: 'request_replayed' });
  });

  it('still refuses both after the host restarts', async () => {
    await host.close();
    host = await start();
    const before = await jobCount();
    expect(await send(submission)).toEqual({ status: 401, code: 'request_replayed' });
    expect(await send(submission, caseFlipped(submission.headers[HEADER_SIGNATURE] as string, 5))).toEqual({
      status: 401,
      code: 'request_replayed',
    });
    expect(await send(read)).toEqual({ status: 401, code: 'request_replayed' });
    expect(await jobCount()).toBe(before);
    // A new request still goes through.
    expect((await send(capture(analyst, 'GET', '/v1/jobs'))).status).toBe(200);
  }, 180_000);
});
