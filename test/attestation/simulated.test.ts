import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EvidenceSchema, simulatedAuthority, simulatedEvidence } from '../../src/attestation/index.ts';
import { verifySimulatedEvidence } from '../../src/attestation/verify.ts';
import { generateEd25519 } from '../../src/common/ed25519.ts';
import { generateIdentity } from '../../src/crypto/index.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'obscura-att-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const keys = { recipient: generateIdentity().recipient, signingKey: generateEd25519().publicKey };
const measurement = 'c'.repeat(64);
const nonce = () => randomBytes(32).toString('hex');

function evidence(n: string) {
  return simulatedEvidence({ dataDir, workerId: 'w1', measurement, keys, nonce: n });
}

const failed = (v: ReturnType<typeof verifySimulatedEvidence>) =>
  v.checks.filter((c) => !c.ok).map((c) => c.name);

describe('simulated attestation', () => {
  it('verifies when simulated evidence is allowed, and says it is simulated', () => {
    const n = nonce();
    const v = verifySimulatedEvidence(evidence(n), {
      nonce: n,
      allowSimulated: true,
      measurements: [measurement],
      keys,
    });
    expect(v.ok).toBe(true);
    expect(v.simulated).toBe(true);
    expect(v.checks.find((c) => c.name === 'tee kind')?.detail).toMatch(/simulated/);
  });

  it('is refused unless simulated evidence is explicitly allowed', () => {
    const n = nonce();
    expect(failed(verifySimulatedEvidence(evidence(n), { nonce: n }))).toEqual(['tee kind']);
  });

  it('refuses a replayed report (other nonce)', () => {
    expect(
      failed(verifySimulatedEvidence(evidence(nonce()), { nonce: nonce(), allowSimulated: true })),
    ).toEqual(['nonce']);
  });

  it('refuses a measurement outside the accepted list', () => {
    const n = nonce();
    expect(
      failed(
        verifySimulatedEvidence(evidence(n), {
          nonce: n,
          allowSimulated: true,
          measurements: ['d'.repeat(64)],
        }),
      ),
    ).toEqual(['measurement']);
  });

  it('refuses keys swapped after signing (the report binds the keys digest)', () => {
    const n = nonce();
    const e = evidence(n);
    const swapped = { ...e, keys: { ...e.keys, recipient: generateIdentity().recipient } };
    expect(failed(verifySimulatedEvidence(swapped, { nonce: n, allowSimulated: true }))).toEqual([
      'key binding',
    ]);
    expect(
      failed(
        verifySimulatedEvidence(e, {
          nonce: n,
          allowSimulated: true,
          keys: { recipient: swapped.keys.recipient },
        }),
      ),
    ).toEqual(['recipient']);
  });

  it('refuses an altered report or a report signed by another authority', () => {
    const n = nonce();
    const e = evidence(n);
    const altered = { ...e, report: { ...e.report, measurement: 'e'.repeat(64) } };
    expect(failed(verifySimulatedEvidence(altered, { nonce: n, allowSimulated: true }))).toEqual([
      'report signature',
    ]);
    const otherAuthority = { ...e, authorityKey: generateEd25519().publicKey };
    expect(failed(verifySimulatedEvidence(otherAuthority, { nonce: n, allowSimulated: true }))).toEqual([
      'report signature',
    ]);
  });

  it('keeps one authority per data directory and validates as schema', () => {
    expect(simulatedAuthority(dataDir).publicKey).toBe(simulatedAuthority(dataDir).publicKey);
    expect(EvidenceSchema.safeParse(evidence(nonce())).success).toBe(true);
    expect(EvidenceSchema.safeParse({ ...evidence(nonce()), tee: 'tdx' }).success).toBe(false);
  });
});
