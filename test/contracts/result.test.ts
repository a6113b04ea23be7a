import { describe, expect, it } from 'vitest';
import { generateEd25519 } from '../../src/common/ed25519.ts';
import { accountKeyFromSuri } from '../../src/crypto/index.ts';
import { signJobRequest } from '../../src/privacy/job-request.ts';
import {
  type ResultBody,
  resultId,
  signedResultHash,
  signResult,
  verifyResultSignature,
} from '../../src/contracts/result.ts';

const key = generateEd25519();
const analyst = await accountKeyFromSuri('//ResultAnalyst');
const body: ResultBody = {
  obscura: 'result/2',
  job: 'job-1',
  analyst: analyst.address,
  request: signJobRequest(
    {
      pipeline: 'a'.repeat(64),
      inputs: { visits: { dataset: 'd', manifest: 'c'.repeat(64) } },
      outputs: ['by_region'],
    },
    analyst,
  ),
  pipeline: { name: 'p', hash: 'a'.repeat(64) },
  inputs: [],
  outputs: {
    visibility: 'public',
    tables: {
      by_region: {
        columns: [
          { name: 'region', type: 'string' },
          { name: 'n', type: 'int64' },
        ],
        rows: [['north', 12]],
        suppressedGroups: 1,
        minGroupSize: 10,
      },
    },
  },
  enclave: {
    worker: 'w',
    tee: 'simulated',
    simulated: true,
    measurement: 'b'.repeat(64),
    signingKey: key.publicKey,
  },
  createdAt: new Date().toISOString(),
};

describe('signed results', () => {
  it('verify with the enclave key they name', () => {
    const signed = signResult(body, key.seed);
    expect(verifyResultSignature(signed)).toBe(true);
    expect(resultId(signed)).toBe(signedResultHash(signed).slice(0, 32));
  });

  it('fail when one number changes', () => {
    const signed = signResult(body, key.seed);
    const altered = structuredClone(signed);
    if (altered.result.outputs.visibility !== 'public') throw new Error('public outputs expected');
    (altered.result.outputs.tables.by_region as { rows: unknown[][] }).rows[0]![1] = 13;
    expect(verifyResultSignature(altered)).toBe(false);
    expect(signedResultHash(altered)).not.toBe(signedResultHash(signed));
  });

  it('fail when another key is named', () => {
    const signed = signResult(body, key.seed);
    const other = {
      ...signed,
      result: {
        ...signed.result,
        enclave: { ...signed.result.enclave, signingKey: generateEd25519().publicKey },
      },
    };
    expect(verifyResultSignature(other)).toBe(false);
  });
});
