/**
 * Key continuity across code upgrades. An enclave's identity is sealed to its measurement,
 * so new code (a new measurement) cannot unseal it and starts with a fresh identity and no
 * access to datasets sealed to the old one. The old enclave hands its identity over only
 * when (1) the newcomer's attestation verifies — its measurement, and the binding of the
 * key the identity will be encrypted to —, (2) every owner whose manifest this identity has
 * accepted lists the new measurement among those it accepts, and (3) an authorisation of
 * exactly this upgrade, old measurement → new measurement, signed by one of the operators
 * this identity was given at first start (upgrade-authorization.ts), is anchored on the
 * chain. The identity then travels
 * age-encrypted to the key the newcomer's attestation binds, so the host in between sees
 * only ciphertext. Per-dataset limits still hold after a hand-over: the newcomer opens a
 * dataset only if that dataset's manifest accepts its measurement.
 *
 * Limit, stated plainly: the enclave checks the anchor through a chain RPC endpoint, which it
 * trusts to answer honestly (it does not verify finality proofs itself).
 */
import { z } from 'zod';
import type { Evidence } from '../attestation/evidence.ts';
import { verifyEvidence } from '../attestation/verify.ts';
import type { AnchorRecord } from '../chain/records.ts';
import type { AnchorCheck, AnchorReceipt } from '../chain/schemas.ts';
import { ObscuraError } from '../common/errors.ts';
import { decryptToBuffer } from '../crypto/age/decrypt.ts';
import { encryptToBuffer } from '../crypto/age/encrypt.ts';
import type { EnclaveState } from './state.ts';
import { EnclaveStateSchema } from './state.ts';
import {
  type SignedUpgradeAuthorization,
  upgradeAuthorizationRecord,
  upgradeAuthorizationSignatureValid,
} from '../contracts/upgrade-authorization.ts';

/** Checks an anchor receipt against the chain (ChainClient.verifyAnchor, injected for tests). */
export type AnchorVerifier = (receipt: AnchorReceipt, record: AnchorRecord) => Promise<AnchorCheck>;

/** What the old enclave needs to decide on a hand-over. */
export interface HandoverRequest {
  /** The newcomer's evidence, made for `nonce`. */
  evidence: Evidence;
  nonce: string;
  /** The newcomer's measurement as its evidence states it. */
  measurement: string;
  /** The operator-signed authorisation of this upgrade (old → new measurement). */
  statement: SignedUpgradeAuthorization;
  /** Receipt of its anchor. */
  authorization: AnchorReceipt;
}

/** Refuse unless `statement` authorises exactly own → newcomer and is signed by an operator this identity honours. */
function assertAuthorizedByOperator(
  state: EnclaveState,
  own: string,
  newcomer: string,
  statement: SignedUpgradeAuthorization,
): void {
  const a = statement.authorization;
  if (a.from !== own || a.to !== newcomer) {
    throw new ObscuraError(
      'handover_refused',
      `hand-over refused: the authorisation is of ${a.from.slice(0, 12)}… → ${a.to.slice(0, 12)}…, not of this upgrade`,
      403,
    );
  }
  if (!(state.operators ?? []).includes(a.operator)) {
    throw new ObscuraError(
      'handover_refused',
      `hand-over refused: the authorisation is signed by ${a.operator}, which is not one of the ${(state.operators ?? []).length} operator(s) this enclave was given at first start`,
      403,
    );
  }
  if (!upgradeAuthorizationSignatureValid(statement)) {
    throw new ObscuraError(
      'handover_refused',
      `hand-over refused: the authorisation's signature is not ${a.operator}'s`,
      403,
    );
  }
}

/**
 * The old enclave's side: verify the newcomer and the on-chain authorisation, then return
 * the identity age-encrypted to the newcomer's attested recipient (base64). Throws
 * 'handover_refused' naming the failed check.
 */
export async function exportIdentity(args: {
  state: EnclaveState;
  ownMeasurement: string;
  ownTee: string;
  request: HandoverRequest;
  verifyAnchor: AnchorVerifier;
}): Promise<string> {
  const { request } = args;
  if (request.measurement === args.ownMeasurement) {
    throw new ObscuraError(
      'handover_refused',
      'hand-over refused: the newcomer runs the same measurement (a restart needs no hand-over)',
      409,
    );
  }
  const verdict = await verifyEvidence(request.evidence, {
    nonce: request.nonce,
    measurements: [request.measurement],
    // A simulated enclave may hand over to a simulated one; hardware only to hardware.
    allowSimulated: args.ownTee === 'simulated',
  });
  if (!verdict.ok) {
    const failed = verdict.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    throw new ObscuraError(
      'handover_refused',
      `hand-over refused: the newcomer's attestation failed (${failed.join('; ')})`,
      403,
    );
  }
  const refusing = args.state.acceptedManifests.filter((m) => !m.measurements.includes(request.measurement));
  if (refusing.length > 0) {
    throw new ObscuraError(
      'handover_refused',
      `hand-over refused: the owners of ${refusing.length} dataset(s) sealed to this enclave do not accept measurement ${request.measurement} (manifest ${refusing[0]?.hash.slice(0, 16)}…)`,
      403,
    );
  }
  assertAuthorizedByOperator(args.state, args.ownMeasurement, request.measurement, request.statement);
  const record = upgradeAuthorizationRecord(request.statement);
  const anchor = await args.verifyAnchor(request.authorization, record);
  if (!anchor.ok) {
    const failed = anchor.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    throw new ObscuraError(
      'handover_refused',
      `hand-over refused: no valid on-chain authorisation of ${args.ownMeasurement.slice(0, 12)}… → ${request.measurement.slice(0, 12)}… (${failed.join('; ')})`,
      403,
    );
  }
  const sealed = await encryptToBuffer(
    [request.evidence.keys.recipient],
    Buffer.from(JSON.stringify(args.state), 'utf8'),
  );
  return sealed.toString('base64');
}

/** The newcomer's side: decrypt a handed-over identity with its own (ephemeral) identity. */
export async function importIdentity(ownAgeIdentity: string, sealedBase64: string): Promise<EnclaveState> {
  const plain = await decryptToBuffer([ownAgeIdentity], Buffer.from(sealedBase64, 'base64'));
  try {
    return EnclaveStateSchema.parse(JSON.parse(plain.toString('utf8')));
  } catch (e) {
    throw new ObscuraError(
      'handover_invalid',
      'the handed-over identity is not a valid enclave state',
      422,
      undefined,
      { cause: e },
    );
  } finally {
    plain.fill(0);
  }
}

/** Schema of the hand-over payload as it crosses the host. */
export const HandoverPayloadSchema = z.object({ sealedIdentity: z.string().min(1) });
