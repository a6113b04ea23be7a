import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { simulatedEvidence } from '../../src/attestation/simulated.ts';
import type { AnchorRecord } from '../../src/chain/records.ts';
import type { AnchorCheck, AnchorReceipt } from '../../src/chain/schemas.ts';
import { generateEd25519 } from '../../src/common/ed25519.ts';
import { generateIdentity } from '../../src/crypto/index.ts';
import { accountKeyFromSuri } from '../../src/crypto/index.ts';
import { exportIdentity, importIdentity } from '../../src/enclave/handover.ts';
import {
  type SignedUpgradeAuthorization,
  signUpgradeAuthorization,
  upgradeAuthorizationRecord,
} from '../../src/contracts/upgrade-authorization.ts';
import type { EnclaveState } from '../../src/enclave/state.ts';
import { EMPTY_LEDGER } from '../../src/contracts/ledger.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'obscura-handover-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const M1 = '1'.repeat(64);
const M2 = '2'.repeat(64);
const operator = await accountKeyFromSuri('//HandoverTestOperator');
const alice = await accountKeyFromSuri('//Alice');
const authorized = signUpgradeAuthorization(M1, M2, operator);
const old: EnclaveState = {
  version: 1,
  workerId: 'worker-1',
  ageIdentity: generateIdentity().identity,
  signingSeed: generateEd25519().seed.toString('hex'),
  createdAt: new Date().toISOString(),
  acceptedManifests: [{ hash: 'f'.repeat(64), measurements: [M1, M2] }],
  ledger: EMPTY_LEDGER,
  operators: [operator.address],
};
const newcomer = generateIdentity();
const newcomerKeys = { recipient: newcomer.recipient, signingKey: generateEd25519().publicKey };
// A receipt's contents do not matter to these tests: the anchor verifier is a fake that
// accepts exactly the records it is told are on chain (the real one is ChainClient.verifyAnchor).
const receipt = {} as AnchorReceipt;

function onChain(...records: AnchorRecord[]) {
  return async (_r: AnchorReceipt, record: AnchorRecord): Promise<AnchorCheck> => {
    const ok = records.some((x) => x.kind === record.kind && x.hash === record.hash);
    return { ok, checks: [{ name: 'merkle', ok, detail: ok ? 'included' : 'record not anchored' }] };
  };
}

function request(
  measurement = M2,
  nonce = randomBytes(32).toString('hex'),
  evidenceNonce = nonce,
  statement: SignedUpgradeAuthorization = authorized,
) {
  const evidence = simulatedEvidence({
    dataDir,
    workerId: 'worker-1',
    measurement,
    keys: newcomerKeys,
    nonce: evidenceNonce,
  });
  return { evidence, nonce, measurement, statement, authorization: receipt };
}

describe('identity hand-over', () => {
  it('hands the identity to an attested newcomer whose upgrade is authorised on chain', async () => {
    const sealed = await exportIdentity({
      state: old,
      ownMeasurement: M1,
      ownTee: 'simulated',
      request: request(),
      verifyAnchor: onChain(upgradeAuthorizationRecord(authorized)),
    });
    expect(sealed).not.toContain(old.ageIdentity);
    expect(Buffer.from(sealed, 'base64').includes(Buffer.from(old.signingSeed))).toBe(false);
    expect(await importIdentity(newcomer.identity, sealed)).toEqual(old);
  });

  it('refuses without an on-chain authorisation of exactly this upgrade', async () => {
    await expect(
      exportIdentity({
        state: old,
        ownMeasurement: M1,
        ownTee: 'simulated',
        request: request(),
        verifyAnchor: onChain(),
      }),
    ).rejects.toMatchObject({
      code: 'handover_refused',
      message: expect.stringMatching(/no valid on-chain authorisation/),
    });
    await expect(
      exportIdentity({
        state: old,
        ownMeasurement: M1,
        ownTee: 'simulated',
        request: request(),
        verifyAnchor: onChain(
          upgradeAuthorizationRecord(signUpgradeAuthorization(M1, '3'.repeat(64), operator)),
        ),
      }),
    ).rejects.toMatchObject({ code: 'handover_refused' });
  });

  it('refuses an authorisation not signed by an operator this identity was given, even when anchored', async () => {
    // A well-known key (anyone can sign as //Alice), anchored by a host that bypassed its own route.
    const byAlice = signUpgradeAuthorization(M1, M2, alice);
    await expect(
      exportIdentity({
        state: old,
        ownMeasurement: M1,
        ownTee: 'simulated',
        request: request(M2, undefined, undefined, byAlice),
        verifyAnchor: onChain(upgradeAuthorizationRecord(byAlice)),
      }),
    ).rejects.toMatchObject({
      code: 'handover_refused',
      message: expect.stringMatching(
        /signed by 5.* not one of the 1 operator\(s\) this enclave was given at first start/,
      ),
    });
    // The operator's name on a statement someone else signed.
    const forged = {
      authorization: { ...byAlice.authorization, operator: operator.address },
      signature: byAlice.signature,
    };
    await expect(
      exportIdentity({
        state: old,
        ownMeasurement: M1,
        ownTee: 'simulated',
        request: request(M2, undefined, undefined, forged),
        verifyAnchor: onChain(upgradeAuthorizationRecord(forged)),
      }),
    ).rejects.toMatchObject({ code: 'handover_refused', message: expect.stringMatching(/signature is not/) });
    // An operator's authorisation of another upgrade.
    const other = signUpgradeAuthorization(M1, '3'.repeat(64), operator);
    await expect(
      exportIdentity({
        state: old,
        ownMeasurement: M1,
        ownTee: 'simulated',
        request: request(M2, undefined, undefined, other),
        verifyAnchor: onChain(upgradeAuthorizationRecord(other)),
      }),
    ).rejects.toMatchObject({
      code: 'handover_refused',
      message: expect.stringMatching(/not of this upgrade/),
    });
    // State sealed with no operators honours none.
    await expect(
      exportIdentity({
        state: { ...old, operators: [] },
        ownMeasurement: M1,
        ownTee: 'simulated',
        request: request(),
        verifyAnchor: onChain(upgradeAuthorizationRecord(authorized)),
      }),
    ).rejects.toMatchObject({ code: 'handover_refused' });
  });

  it('refuses a newcomer whose evidence is stale or states another measurement', async () => {
    const verifyAnchor = onChain(upgradeAuthorizationRecord(authorized));
    await expect(
      exportIdentity({
        state: old,
        ownMeasurement: M1,
        ownTee: 'simulated',
        request: request(M2, 'a'.repeat(64), 'b'.repeat(64)),
        verifyAnchor,
      }),
    ).rejects.toMatchObject({ code: 'handover_refused', message: expect.stringMatching(/nonce/) });
    const lying = { ...request(), measurement: '4'.repeat(64) };
    await expect(
      exportIdentity({ state: old, ownMeasurement: M1, ownTee: 'simulated', request: lying, verifyAnchor }),
    ).rejects.toMatchObject({
      code: 'handover_refused',
      message: expect.stringMatching(/measurement/),
    });
  });

  it('refuses to hand over to simulated evidence from a hardware enclave, and to itself', async () => {
    const verifyAnchor = onChain(upgradeAuthorizationRecord(authorized));
    await expect(
      exportIdentity({ state: old, ownMeasurement: M1, ownTee: 'tdx', request: request(), verifyAnchor }),
    ).rejects.toMatchObject({ code: 'handover_refused' });
    await expect(
      exportIdentity({
        state: old,
        ownMeasurement: M1,
        ownTee: 'simulated',
        request: request(M1),
        verifyAnchor,
      }),
    ).rejects.toMatchObject({ code: 'handover_refused' });
  });

  it('refuses when an owner whose dataset this identity accepted does not accept the new measurement', async () => {
    const state = {
      ...old,
      acceptedManifests: [...old.acceptedManifests, { hash: 'e'.repeat(64), measurements: [M1] }],
    };
    await expect(
      exportIdentity({
        state,
        ownMeasurement: M1,
        ownTee: 'simulated',
        request: request(),
        verifyAnchor: onChain(upgradeAuthorizationRecord(authorized)),
      }),
    ).rejects.toMatchObject({
      code: 'handover_refused',
      message: expect.stringMatching(/owners of 1 dataset\(s\).*do not accept/),
    });
  });

  it('cannot be opened by anyone but the attested newcomer', async () => {
    const sealed = await exportIdentity({
      state: old,
      ownMeasurement: M1,
      ownTee: 'simulated',
      request: request(),
      verifyAnchor: onChain(upgradeAuthorizationRecord(authorized)),
    });
    await expect(importIdentity(generateIdentity().identity, sealed)).rejects.toMatchObject({
      code: 'age_no_matching_identity',
    });
  });
});
