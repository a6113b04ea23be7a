/**
 * Verification of attestation evidence against what the verifier expects: the signature
 * chain, the measurement, the binding of the enclave's keys and the freshness nonce, and
 * (with a policy) the accepted TEE kinds, TCB statuses and collateral age. Every check is
 * reported by name so the CLI can print them one by one. Hardware quotes are verified in
 * verify-quote.ts, loaded on first use (it pulls in @phala/dcap-qvl).
 */
import { canonicalJson } from '../common/hash.ts';
import { ed25519Verify } from '../common/ed25519.ts';
import type { CollateralSource } from './dcap/source.ts';
import { type Evidence, keysDigest, type SimulatedEvidence } from './evidence.ts';
import { type AttestationPolicy, matchMeasurement } from './policy.ts';
import type { QuoteFacts } from './verify-quote.ts';

/** One named check and its outcome. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * The outcome of verifying evidence. `simulated` is true whenever the evidence was simulated.
 * `measurement` is the simulated measurement, a TDX quote's MRTD or an SGX quote's MRENCLAVE;
 * `quote` carries a hardware quote's parsed fields, TCB status and collateral.
 */
export interface AttestationVerdict {
  ok: boolean;
  tee: Evidence['tee'];
  simulated: boolean;
  measurement: string;
  checks: Check[];
  quote?: QuoteFacts;
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
  /** The attestation policy to decide by; without one, measurements are reported, not decided. */
  policy?: AttestationPolicy;
  /** Where DCAP collateral comes from (default: Intel's PCS, cached in memory). */
  collateral?: CollateralSource;
  /** Verification time, Unix seconds (default: now). */
  at?: number;
  /** The exact 64-byte report data (hex) a bare quote must carry. */
  reportData?: string;
}

/** Verify evidence of any kind; never throws for a failed check. */
export async function verifyEvidence(
  evidence: Evidence,
  expect: AttestationExpectations = {},
): Promise<AttestationVerdict> {
  if (evidence.tee === 'simulated') return verifySimulatedEvidence(evidence, expect);
  const { verifyQuoteEvidence } = await import('./verify-quote.ts');
  return verifyQuoteEvidence(evidence, expect);
}

/** Verify simulated evidence; never throws for a failed check. */
export function verifySimulatedEvidence(
  evidence: SimulatedEvidence,
  expect: AttestationExpectations = {},
): AttestationVerdict {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const r = evidence.report;
  const allowed = expect.allowSimulated === true || expect.policy?.allow_simulated === true;

  add(
    'tee kind',
    allowed,
    allowed
      ? 'simulated TEE (accepted because simulated evidence was allowed; this is not hardware attestation)'
      : 'simulated TEE evidence is refused unless explicitly allowed (--allow-simulated)',
  );
  add(
    'report signature',
    ed25519Verify(evidence.authorityKey, canonicalJson(r), evidence.signature),
    `signed by simulated authority ${evidence.authorityKey.slice(0, 16)}…`,
  );
  const digest = keysDigest(evidence.keys);
  add(
    'key binding',
    digest === r.keysDigest,
    digest === r.keysDigest
      ? 'report data binds the enclave keys'
      : 'report data does not match the enclave keys',
  );
  if (expect.keys?.recipient !== undefined) {
    const ok = expect.keys.recipient === evidence.keys.recipient;
    add(
      'recipient',
      ok,
      ok ? 'bound recipient is the expected one' : 'bound recipient differs from the expected one',
    );
  }
  if (expect.keys?.signingKey !== undefined) {
    const ok = expect.keys.signingKey === evidence.keys.signingKey;
    add(
      'signing key',
      ok,
      ok ? 'bound signing key is the expected one' : 'bound signing key differs from the expected one',
    );
  }
  if (expect.nonce !== undefined) {
    const ok = expect.nonce === r.nonce;
    add(
      'nonce',
      ok,
      ok
        ? 'report carries the fresh nonce sent'
        : 'report does not carry the nonce sent (replayed evidence?)',
    );
  }
  if (expect.measurements !== undefined && !expect.measurements.includes(r.measurement)) {
    add('measurement', false, `measurement ${r.measurement} is not in the accepted list`);
  } else if (expect.policy) {
    const m = matchMeasurement(expect.policy, { tee: 'simulated', measurement: r.measurement });
    add(
      'measurement',
      m.ok,
      m.ok
        ? `measurement ${r.measurement} matches policy entry ${m.entry}`
        : `measurement ${r.measurement} ${m.reason}`,
    );
  } else if (expect.measurements !== undefined) {
    add('measurement', true, `measurement ${r.measurement} is accepted`);
  } else {
    add('measurement', true, `measurement ${r.measurement} (not checked against a policy)`);
  }
  return {
    ok: checks.every((c) => c.ok),
    tee: evidence.tee,
    simulated: true,
    measurement: r.measurement,
    checks,
  };
}
