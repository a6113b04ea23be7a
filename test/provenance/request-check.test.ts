/**
 * `obscura verify`'s job request check (src/provenance/request-check.ts): it passes for the
 * request the result was made for, and fails — naming why — for a request that was tampered
 * with, is by another analyst than the result names, or asks for another pipeline, other
 * outputs or other inputs than the result's.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import type { ResultBody } from '../../src/contracts/result.ts';
import { signJobRequest } from '../../src/privacy/job-request.ts';
import { jobRequestCheck } from '../../src/provenance/request-check.ts';

const P = 'a'.repeat(64);
const M = 'b'.repeat(64);
let alice: AccountKey;
let bob: AccountKey;
let body: ResultBody;

const table = { columns: [{ name: 'n', type: 'int64' }], rows: [[12]], suppressedGroups: 0, minGroupSize: 5 };
const request = (key: AccountKey, over: Partial<Parameters<typeof signJobRequest>[0]> = {}) =>
  signJobRequest(
    {
      pipeline: P,
      inputs: { visits: { dataset: 'd1', manifest: M } },
      purpose: 'study',
      outputs: ['out'],
      ...over,
    },
    key,
  );

beforeAll(async () => {
  alice = await accountKeyFromSuri('//VerifyAlice');
  bob = await accountKeyFromSuri('//VerifyBob');
  body = {
    obscura: 'result/2',
    job: 'j',
    analyst: alice.address,
    request: request(alice),
    pipeline: { name: 'p', hash: P },
    inputs: [
      {
        name: 'visits',
        dataset: 'd1',
        owner: bob.address,
        manifestHash: M,
        plaintextSha256: 'c'.repeat(64),
        ciphertextSha256: 'd'.repeat(64),
        rows: 100,
      },
    ],
    outputs: { visibility: 'public', tables: { out: table } },
    enclave: {
      worker: 'w',
      tee: 'simulated',
      simulated: true,
      measurement: 'e'.repeat(64),
      signingKey: 'f'.repeat(64),
    },
    createdAt: new Date().toISOString(),
  };
});

describe('verify: job request', () => {
  it('passes for the request the result was made for, in one line', () => {
    const c = jobRequestCheck(body);
    expect(c).toMatchObject({ name: 'job request', ok: true });
    expect(c.detail).toMatch(
      new RegExp(
        `^signed by analyst ${alice.address} on .* for this pipeline and 1 input\\(s\\); purpose sha256 [0-9a-f]{16}…$`,
      ),
    );
  });

  it('fails for a tampered request (its signature no longer verifies)', () => {
    const r = body.request;
    const tampered = { ...body, request: { ...r, request: { ...r.request, purpose: 'another study' } } };
    expect(jobRequestCheck(tampered)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/signature does not verify/),
    });
  });

  it("fails for another analyst's request, or a result naming another analyst", () => {
    expect(jobRequestCheck({ ...body, request: request(bob) })).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/the result names analyst/),
    });
    expect(jobRequestCheck({ ...body, analyst: bob.address })).toMatchObject({ ok: false });
  });

  it('fails for a request for another pipeline, other outputs or other inputs', () => {
    expect(jobRequestCheck({ ...body, request: request(alice, { pipeline: '0'.repeat(64) }) })).toMatchObject(
      { ok: false, detail: expect.stringMatching(/pipeline/) },
    );
    expect(jobRequestCheck({ ...body, request: request(alice, { outputs: ['out', 'more'] }) })).toMatchObject(
      { ok: false, detail: expect.stringMatching(/outputs/) },
    );
    expect(
      jobRequestCheck({
        ...body,
        request: request(alice, { inputs: { visits: { dataset: 'd2', manifest: M } } }),
      }),
    ).toMatchObject({ ok: false, detail: expect.stringMatching(/inputs/) });
  });
});
