/**
 * The signed statements about jobs (src/privacy/job-request.ts, statements.ts): the
 * analyst's job request and the owner's approval/2 — their exact form, their signatures
 * over a domain-separated JCS form, and every refusal by its code.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/common/hash.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import {
  assertJobMatchesRequest,
  assertJobRequestFresh,
  assertJobRequestSignature,
  JOB_REQUEST_MAX_AGE_MS,
  jobRequestHash,
  jobRequestSignatureValid,
  parseSignedJobRequest,
  purposeHash,
  signJobRequest,
} from '../../src/privacy/job-request.ts';
import { assertApprovalCovers, parseSignedApproval, signApproval } from '../../src/privacy/statements.ts';

const P = 'a'.repeat(64);
const M1 = 'b'.repeat(64);
const M2 = 'c'.repeat(64);
let analyst: AccountKey;
let other: AccountKey;
let owner: AccountKey;

beforeAll(async () => {
  analyst = await accountKeyFromSuri('//StatementAnalyst');
  other = await accountKeyFromSuri('//StatementOther');
  owner = await accountKeyFromSuri('//StatementOwner');
});

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

const request = () =>
  signJobRequest(
    {
      pipeline: P,
      inputs: { visits: { dataset: 'd1', manifest: M1 } },
      purpose: 'cost study',
      outputs: ['z', 'a'],
    },
    analyst,
  );

describe('job requests', () => {
  it("have exactly the documented fields, sorted outputs, a fresh nonce and the analyst's result recipient", () => {
    const s = request();
    expect(Object.keys(s.request).sort()).toEqual(
      [
        'analyst',
        'createdAt',
        'inputs',
        'nonce',
        'obscura',
        'outputs',
        'pipeline',
        'purpose',
        'recipient',
      ].sort(),
    );
    expect(s.request).toMatchObject({
      obscura: 'job-request/1',
      analyst: analyst.address,
      pipeline: P,
      purpose: 'cost study',
      outputs: ['a', 'z'],
      recipient: analyst.resultRecipient,
    });
    expect(s.request.nonce).toMatch(/^[0-9a-f]{64}$/);
    expect(request().request.nonce).not.toBe(s.request.nonce);
    expect(jobRequestSignatureValid(s)).toBe(true);
    expect(parseSignedJobRequest(JSON.parse(JSON.stringify(s)))).toEqual(s);
  });

  it('are signed over the domain-separated JCS form, so any change, or another signer, fails', () => {
    const s = request();
    for (const change of [
      { purpose: 'something else' },
      { analyst: other.address },
      { pipeline: 'f'.repeat(64) },
      { outputs: ['a'] },
      { nonce: '0'.repeat(64) },
    ]) {
      const tampered = { ...s, request: { ...s.request, ...change } };
      expect(jobRequestSignatureValid(tampered)).toBe(false);
      expect(codeOf(() => assertJobRequestSignature(tampered))).toBe('job_request_signature_invalid');
    }
    // The analyst's signature over the same JCS form without the domain tag is not a request signature.
    const bare = { ...s, signature: analyst.sign(new TextEncoder().encode(canonicalJson(s.request))) };
    expect(jobRequestSignatureValid(bare)).toBe(false);
    // A request "by" the analyst but signed by another account fails.
    const byOther = signJobRequest(
      { pipeline: P, inputs: { visits: { dataset: 'd1', manifest: M1 } }, outputs: ['a'] },
      other,
    );
    expect(
      jobRequestSignatureValid({
        request: { ...byOther.request, analyst: analyst.address },
        signature: byOther.signature,
      }),
    ).toBe(false);
  });

  it('refuse bad shapes by field: extra keys, bad hashes, bad recipients, empty inputs or outputs', () => {
    const s = request();
    const bad = (request: object) => codeOf(() => parseSignedJobRequest({ signature: s.signature, request }));
    expect(bad({ ...s.request, extra: 1 })).toBe('job_request_invalid');
    expect(bad({ ...s.request, pipeline: 'A'.repeat(64) })).toBe('job_request_invalid');
    expect(bad({ ...s.request, recipient: 'age1nope' })).toBe('job_request_invalid');
    expect(bad({ ...s.request, inputs: {} })).toBe('job_request_invalid');
    expect(bad({ ...s.request, outputs: [] })).toBe('job_request_invalid');
    expect(bad({ ...s.request, analyst: 'not-an-address' })).toBe('job_request_invalid');
    expect(bad({ ...s.request, inputs: { visits: [{ dataset: 'd1', manifest: M1 }] } })).toBe(
      'job_request_invalid',
    ); // a list has 2+
    expect(bad({ ...s.request, obscura: 'job-request/2' })).toBe('job_request_invalid');
    expect(
      codeOf(() => parseSignedJobRequest({ request: s.request, signature: s.signature.toUpperCase() })),
    ).toBe('job_request_invalid');
  });

  it('are fresh for a window, and never from the future beyond the skew', () => {
    const now = Date.now();
    const at = (t: number) =>
      signJobRequest(
        { pipeline: P, inputs: { v: { dataset: 'd', manifest: M1 } }, outputs: ['a'] },
        analyst,
        new Date(t),
      ).request;
    expect(
      codeOf(() => assertJobRequestFresh(at(now - JOB_REQUEST_MAX_AGE_MS + 60_000), now)),
    ).toBeUndefined();
    expect(codeOf(() => assertJobRequestFresh(at(now - JOB_REQUEST_MAX_AGE_MS - 60_000), now))).toBe(
      'job_request_expired',
    );
    expect(codeOf(() => assertJobRequestFresh(at(now + 3600_000), now))).toBe('job_request_expired');
    expect(codeOf(() => assertJobRequestFresh(at(now - 11 * 60_000), now, 10 * 60_000))).toBe(
      'job_request_expired',
    );
  });

  it('match only the job they ask for: pipeline, outputs, and each dataset of each input', () => {
    const fed = signJobRequest(
      {
        pipeline: P,
        inputs: {
          data: [
            { dataset: 'd1', manifest: M1 },
            { dataset: 'd2', manifest: M2 },
          ],
        },
        outputs: ['m'],
      },
      analyst,
    ).request;
    const job = {
      pipelineHash: P,
      outputs: ['m'],
      inputs: [
        { name: 'data', dataset: 'd1', manifest: M1 },
        { name: 'data', dataset: 'd2', manifest: M2 },
      ],
    };
    expect(codeOf(() => assertJobMatchesRequest(fed, job))).toBeUndefined();
    const mismatch = (j: typeof job, partial = false) =>
      codeOf(() => assertJobMatchesRequest(fed, j, { partial }));
    expect(mismatch({ ...job, pipelineHash: 'f'.repeat(64) })).toBe('job_request_mismatch');
    expect(mismatch({ ...job, outputs: ['m', 'n'] })).toBe('job_request_mismatch');
    expect(mismatch({ ...job, inputs: [job.inputs[0] as (typeof job.inputs)[number]] })).toBe(
      'job_request_mismatch',
    ); // a partition missing
    expect(
      mismatch({ ...job, inputs: [job.inputs[0] as (typeof job.inputs)[number]] }, true),
    ).toBeUndefined(); // one worker's share
    expect(mismatch({ ...job, inputs: [{ name: 'data', dataset: 'd1', manifest: M2 }] }, true)).toBe(
      'job_request_mismatch',
    ); // another manifest
    expect(mismatch({ ...job, inputs: [{ name: 'other', dataset: 'd1', manifest: M1 }] }, true)).toBe(
      'job_request_mismatch',
    ); // another input
    expect(mismatch({ ...job, inputs: [...job.inputs, job.inputs[0] as (typeof job.inputs)[number]] })).toBe(
      'job_request_mismatch',
    ); // twice
  });

  it('are identified without their signature, so a re-signed copy is the same request', () => {
    const s = request();
    expect(jobRequestHash(s.request)).toBe(jobRequestHash(structuredClone(s.request)));
    expect(jobRequestHash(request().request)).not.toBe(jobRequestHash(s.request));
  });
});

describe('approvals (approval/2)', () => {
  const terms = () => ({
    dataset: M1,
    pipeline: P,
    analyst: analyst.address,
    purpose: purposeHash('cost study'),
  });

  it('bind analyst, purpose hash, expiry (default 30 days) and runs (default 1)', () => {
    const now = new Date('2026-01-01T00:00:00.000Z');
    const a = signApproval(terms(), owner, now).approval;
    expect(a).toEqual({
      obscura: 'approval/2',
      dataset: M1,
      pipeline: P,
      analyst: analyst.address,
      purpose: purposeHash('cost study'),
      expiresAt: '2026-01-31T00:00:00.000Z',
      runs: 1,
      approver: owner.address,
      createdAt: now.toISOString(),
    });
    expect(
      signApproval({ ...terms(), runs: 5, expiresAt: new Date('2026-02-01T00:00:00Z') }, owner, now).approval,
    ).toMatchObject({ runs: 5, expiresAt: '2026-02-01T00:00:00.000Z' });
  });

  it('refuse unbound or malformed approvals: version 1, zero runs, expiry before creation', () => {
    const s = signApproval(terms(), owner);
    const { analyst: _a, purpose: _p, expiresAt: _e, runs: _r, ...v1 } = s.approval;
    expect(codeOf(() => parseSignedApproval({ ...s, approval: { ...v1, obscura: 'approval/1' } }))).toBe(
      'approval_invalid',
    );
    expect(codeOf(() => parseSignedApproval({ ...s, approval: { ...s.approval, runs: 0 } }))).toBe(
      'approval_invalid',
    );
    expect(
      codeOf(() =>
        parseSignedApproval({ ...s, approval: { ...s.approval, expiresAt: s.approval.createdAt } }),
      ),
    ).toBe('approval_invalid');
    expect(() => signApproval({ ...terms(), runs: 0 }, owner)).toThrow();
  });

  it('cover only their analyst and purpose, until they expire, each refusal naming its rule', () => {
    const a = signApproval({ ...terms(), expiresAt: new Date(Date.now() + 60_000) }, owner).approval;
    const job = {
      analyst: analyst.address,
      purpose: purposeHash('cost study'),
      now: Date.now(),
      label: 'dataset d1 (input visits)',
    };
    expect(codeOf(() => assertApprovalCovers(a, job))).toBeUndefined();
    expect(codeOf(() => assertApprovalCovers(a, { ...job, analyst: other.address }))).toBe(
      'approval_analyst_mismatch',
    );
    expect(codeOf(() => assertApprovalCovers(a, { ...job, purpose: purposeHash('cost study ') }))).toBe(
      'approval_purpose_mismatch',
    );
    expect(codeOf(() => assertApprovalCovers(a, { ...job, now: Date.now() + 120_000 }))).toBe(
      'approval_expired',
    );
  });
});
