/**
 * Verification of attestation evidence against what the verifier expects: the signature
 * chain, the measurement, the binding of the enclave's keys and the freshness nonce.
 * Every check is reported by name so the CLI can print them one by one.
 */
import { canonicalJson } from '../common/hash.ts';
import { ed25519Verify } from '../common/ed25519.ts';
import { ObscuraError } from '../common/errors.ts';
import { type Evidence, keysDigest, type SimulatedEvidence } from './evidence.ts';

/** One named check and its outcome. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** The outcome of verifying evidence. `simulated` is true whenever the evidence was simulated. */
export interface AttestationVerdict {
  ok: boolean;
  tee: Evidence['tee'];
  simulated: boolean;
  measurement: string;
  checks: Check[];
}

/** What the verifier expects of the evidence. */
export interface AttestationExpectations {
  /** The nonce the verifier sent; omitted only when checking stored evidence against its own nonce. */
  nonce?: string;
  /** Accepted measurements; undefined accepts any (report, don't decide). */
  measurements?: readonly string[];
  /** Accept evidence from the simulated TEE. Off by default. */
  allowSimulated?: boolean;
  /** Keys the enclave must have bound, e.g. the recipient an owner is about to seal to. */
  keys?: { recipient?: string; signingKey?: string };
}

/** Verify evidence of any kind; never throws for a failed check. */
export async function verifyEvidence(evidence: Evidence, expect: AttestationExpectations = {}): Promise<AttestationVerdict> {
  if (evidence.tee === 'simulated') return verifySimulatedEvidence(evidence, expect);
  throw new ObscuraError('attestation_unsupported', `verification of ${evidence.tee} quotes is not built yet`, 422);
}

/** Verify simulated evidence; never throws for a failed check. */
export function verifySimulatedEvidence(evidence: SimulatedEvidence, expect: AttestationExpectations = {}): AttestationVerdict {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const r = evidence.report;

  add(
    'tee kind',
    expect.allowSimulated === true,
    expect.allowSimulated
      ? 'simulated TEE (accepted because simulated evidence was allowed; this is not hardware attestation)'
      : 'simulated TEE evidence is refused unless explicitly allowed (--allow-simulated)',
  );
  add(
    'report signature',
    ed25519Verify(evidence.authorityKey, canonicalJson(r), evidence.signature),
    `signed by simulated authority ${evidence.authorityKey.slice(0, 16)}…`,
  );
  const digest = keysDigest(evidence.keys);
  add('key binding', digest === r.keysDigest, digest === r.keysDigest ? 'report data binds the enclave keys' : 'report data does not match the enclave keys');
  if (expect.keys?.recipient !== undefined) {
    const ok = expect.keys.recipient === evidence.keys.recipient;
    add('recipient', ok, ok ? 'bound recipient is the expected one' : 'bound recipient differs from the expected one');
  }
  if (expect.keys?.signingKey !== undefined) {
    const ok = expect.keys.signingKey === evidence.keys.signingKey;
    add('signing key', ok, ok ? 'bound signing key is the expected one' : 'bound signing key differs from the expected one');
  }
  if (expect.nonce !== undefined) {
    const ok = expect.nonce === r.nonce;
    add('nonce', ok, ok ? 'report carries the fresh nonce sent' : 'report does not carry the nonce sent (replayed evidence?)');
  }
  if (expect.measurements !== undefined) {
    const ok = expect.measurements.includes(r.measurement);
    add('measurement', ok, ok ? `measurement ${r.measurement} is accepted` : `measurement ${r.measurement} is not in the accepted list`);
  } else {
    add('measurement', true, `measurement ${r.measurement} (not checked against a policy)`);
  }
  return { ok: checks.every((c) => c.ok), tee: evidence.tee, simulated: true, measurement: r.measurement, checks };
}
