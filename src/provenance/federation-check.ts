/**
 * Checking every enclave's part of a federated job (an aggregate or training), offline: the
 * coordinating enclave signs, per member, the member's attestation evidence (for the nonce it
 * was asked with), the datasets of its share and the hash and signature of the sealed
 * contribution it took (an aggregate's partial, training's encoding statistics). An auditor
 * checks that each member's evidence binds its signing key to an accepted measurement (the
 * coordinator's own: members run the same code), that the member signed that partial and a
 * statement binding the job, request, pipeline, coordinator and the result's inputs from its
 * datasets (partial-statement.ts), and that the members' datasets are the result's inputs,
 * each once. The contributions stay sealed to the coordinating enclave; what they held is
 * the coordinator's word, whose own attestation the caller checks.
 */
import type { AttestationPolicy } from '../attestation/policy.ts';
import { type Check, verifyEvidence } from '../attestation/verify.ts';
import { ed25519Verify } from '../common/ed25519.ts';
import { partialStatementText } from '../contracts/partial-statement.ts';
import type { FederationMember, ResultBody } from '../contracts/result.ts';
import { jobRequestHash } from '../privacy/job-request.ts';

/** What the member checks accept: as for the coordinating enclave's own attestation. */
export interface MemberCheckOptions {
  allowSimulated: boolean;
  /** Accepted measurements; default the coordinating enclave's (when the evidence attests one itself). */
  measurements?: readonly string[];
  policy?: AttestationPolicy;
}

async function memberCheck(body: ResultBody, m: FederationMember, opts: MemberCheckOptions): Promise<Check> {
  const problems: string[] = [];
  if (!body.federation?.workers.some((w) => w.signingKey === m.signingKey && w.worker === m.worker))
    problems.push('it is not one of the workers the result names');
  if (m.measurement !== body.enclave.measurement)
    problems.push(`its measurement ${m.measurement} is not the coordinating enclave's`);
  if (!ed25519Verify(m.signingKey, m.partial.sha256, m.partial.signature))
    problems.push('its signature on the sealed contribution it sent does not verify');
  const statement = partialStatementText({
    job: body.job,
    request: jobRequestHash(body.request.request),
    pipeline: body.pipeline.hash,
    coordinator: body.enclave.signingKey,
    member: m.signingKey,
    inputs: body.inputs.filter((i) => m.datasets.includes(i.dataset)),
  });
  if (m.datasets.length === 0 || !ed25519Verify(m.signingKey, statement, m.statement))
    problems.push(
      `it did not sign for this job, request, pipeline and coordinator over the inputs ${m.datasets.join(', ') || '(none)'}`,
    );
  // Simulated and SGX evidence attest the 32-byte measurement itself; a TDX quote needs a policy.
  const attestsMeasurement = m.evidence.tee === 'simulated' || m.evidence.tee === 'sgx';
  const att = await verifyEvidence(m.evidence, {
    nonce: m.nonce,
    keys: { signingKey: m.signingKey },
    ...(opts.measurements || attestsMeasurement
      ? { measurements: opts.measurements ?? [body.enclave.measurement] }
      : {}),
    ...(opts.policy ? { policy: opts.policy } : {}),
    allowSimulated: opts.allowSimulated,
  });
  if (!att.ok)
    problems.push(
      `attestation: ${att.checks
        .filter((c) => !c.ok)
        .map((c) => `${c.name}: ${c.detail}`)
        .join('; ')}`,
    );
  return {
    name: `member ${m.worker}`,
    ok: problems.length === 0,
    detail: problems.length
      ? problems.join('; ')
      : `${att.simulated ? 'SIMULATED TEE' : att.tee}: measurement ${att.measurement} binds key ${m.signingKey.slice(0, 16)}…, which signed its sealed contribution (sha256 ${m.partial.sha256.slice(0, 16)}…) from ${m.datasets.join(', ')}`,
  };
}

/**
 * The checks of a federated result's members: one per member, and one that the members'
 * datasets are the result's inputs, each once. A federated result that carries no members
 * (made by an older release) gets one check saying what is unchecked.
 */
export async function federationMemberChecks(body: ResultBody, opts: MemberCheckOptions): Promise<Check[]> {
  const fed = body.federation;
  if (!fed) return [];
  if (!fed.members)
    return [
      {
        name: 'federation members',
        ok: true,
        detail: `${fed.workers.length} workers named; the result carries no member evidence, so only the coordinating enclave's part is checked`,
      },
    ];
  const checks = await Promise.all(fed.members.map((m) => memberCheck(body, m, opts)));
  const given = fed.members.flatMap((m) => m.datasets).sort();
  const inputs = body.inputs.map((i) => i.dataset).sort();
  const covered = given.join('\n') === inputs.join('\n') && fed.members.length === fed.workers.length;
  checks.push({
    name: 'federation members',
    ok: covered,
    detail: covered
      ? `${fed.members.length} member enclaves, each dataset of the result from exactly one`
      : "the members' datasets are not the result's inputs, each once, or a named worker has no part",
  });
  return checks;
}
