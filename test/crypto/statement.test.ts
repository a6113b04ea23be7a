/**
 * Account-signed statements (src/crypto/statement.ts) and the wire format of every kind
 * that uses it: each is signed over `<domain>\n<JCS(statement)>`, exactly as before the
 * kinds shared one helper. A signature made over those bytes by hand verifies with each
 * kind's verifier, each kind's signature verifies over those bytes, and a signature never
 * verifies for another domain, another statement or another signer.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/common/hash.ts';
import { type AccountKey, accountKeyFromSuri, verifyAccountSignature } from '../../src/crypto/index.ts';
import { assertManifestSignature, type Manifest, signManifest } from '../../src/crypto/manifest.ts';
import { signStatement, statementSigningBytes, verifyStatement } from '../../src/crypto/statement.ts';
import {
  signUpgradeAuthorization,
  upgradeAuthorizationSignatureValid,
} from '../../src/contracts/upgrade-authorization.ts';
import { jobRequestSignatureValid, signJobRequest } from '../../src/privacy/job-request.ts';
import {
  assertApproval,
  assertPolicyUpdate,
  signApproval,
  signPolicyUpdate,
} from '../../src/privacy/statements.ts';

let owner: AccountKey;
let other: AccountKey;

beforeAll(async () => {
  owner = await accountKeyFromSuri('//StatementHelperOwner');
  other = await accountKeyFromSuri('//StatementHelperOther');
});

/** The bytes every kind has always been signed over, spelled out. */
const wire = (domain: string, body: unknown) => new TextEncoder().encode(`${domain}\n${canonicalJson(body)}`);

const manifest = (): Manifest => ({
  obscura: 'manifest/1',
  name: 'visits',
  owner: owner.address,
  format: 'csv',
  schema: [{ name: 'age', type: 'int64' }],
  rows: 3,
  plaintext: { sha256: 'a'.repeat(64), bytes: 10 },
  ciphertext: { sha256: 'b'.repeat(64), bytes: 200 },
  worker: { id: 'worker-1', recipient: 'age1qqqq' },
  analysts: ['*'],
  measurements: ['c'.repeat(64)],
  createdAt: new Date().toISOString(),
});

describe('account-signed statements', () => {
  it('sign <domain>\\n<JCS(body)>, and verify only for that domain, body and signer', () => {
    const body = { b: 2, a: [1, 'x'] };
    expect(new TextDecoder().decode(statementSigningBytes('obscura-test/1', body))).toBe(
      'obscura-test/1\n{"a":[1,"x"],"b":2}',
    );
    const sig = signStatement('obscura-test/1', body, owner);
    expect(verifyAccountSignature(owner.address, wire('obscura-test/1', body), sig)).toBe(true);
    expect(verifyStatement('obscura-test/1', body, owner.address, sig)).toBe(true);
    expect(verifyStatement('obscura-test/2', body, owner.address, sig)).toBe(false);
    expect(verifyStatement('obscura-test/1', { ...body, b: 3 }, owner.address, sig)).toBe(false);
    expect(verifyStatement('obscura-test/1', body, other.address, sig)).toBe(false);
    expect(verifyStatement('obscura-test/1', body, owner.address, '0x00')).toBe(false);
  });

  it('keep every kind on its wire format, both ways', () => {
    const m = manifest();
    const signedManifest = signManifest(m, owner);
    expect(
      verifyAccountSignature(owner.address, wire('obscura-manifest/1', m), signedManifest.signature),
    ).toBe(true);
    expect(() =>
      assertManifestSignature({ manifest: m, signature: owner.sign(wire('obscura-manifest/1', m)) }),
    ).not.toThrow();

    const hash = 'd'.repeat(64);
    const approval = signApproval(
      { dataset: hash, pipeline: 'e'.repeat(64), analyst: other.address, purpose: 'f'.repeat(64) },
      owner,
    );
    expect(
      verifyAccountSignature(
        owner.address,
        wire('obscura-approval/2', approval.approval),
        approval.signature,
      ),
    ).toBe(true);
    expect(() =>
      assertApproval(
        { ...approval, signature: owner.sign(wire('obscura-approval/2', approval.approval)) },
        m,
        hash,
      ),
    ).not.toThrow();

    const update = signPolicyUpdate({ dataset: hash, version: 2, revoked: true }, owner);
    expect(
      verifyAccountSignature(owner.address, wire('obscura-policy-update/1', update.update), update.signature),
    ).toBe(true);
    expect(() =>
      assertPolicyUpdate(
        { ...update, signature: owner.sign(wire('obscura-policy-update/1', update.update)) },
        m,
        hash,
      ),
    ).not.toThrow();

    const request = signJobRequest(
      { pipeline: 'e'.repeat(64), inputs: { visits: { dataset: 'd1', manifest: hash } }, outputs: ['a'] },
      other,
    );
    expect(
      verifyAccountSignature(
        other.address,
        wire('obscura-job-request/1', request.request),
        request.signature,
      ),
    ).toBe(true);
    expect(
      jobRequestSignatureValid({
        ...request,
        signature: other.sign(wire('obscura-job-request/1', request.request)),
      }),
    ).toBe(true);

    const upgrade = signUpgradeAuthorization('1'.repeat(64), '2'.repeat(64), owner);
    expect(
      verifyAccountSignature(
        owner.address,
        wire('obscura-upgrade-authorization/1', upgrade.authorization),
        upgrade.signature,
      ),
    ).toBe(true);
    expect(
      upgradeAuthorizationSignatureValid({
        ...upgrade,
        signature: owner.sign(wire('obscura-upgrade-authorization/1', upgrade.authorization)),
      }),
    ).toBe(true);
  });

  it('never verify one kind as another: the domain separates them', () => {
    const hash = 'd'.repeat(64);
    const approval = signApproval(
      { dataset: hash, pipeline: 'e'.repeat(64), analyst: other.address, purpose: 'f'.repeat(64) },
      owner,
    );
    // The approval's signature over the same body under another kind's domain is refused.
    expect(
      verifyStatement('obscura-policy-update/1', approval.approval, owner.address, approval.signature),
    ).toBe(false);
    const forged = { ...approval, signature: signStatement('obscura-manifest/1', approval.approval, owner) };
    expect(() => assertApproval(forged, manifest(), hash)).toThrow(
      expect.objectContaining({ code: 'approval_signature_invalid' }),
    );
  });
});
