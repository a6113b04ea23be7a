/**
 * Messages between attested enclaves, carried by the untrusted host: age-encrypted to the
 * recipient key the peer's attestation binds, and signed with the sender's attested Ed25519
 * key, so the host can neither read nor forge nor swap them. A peer is accepted only when
 * its fresh evidence verifies for the same measurement as the receiver's own code.
 */
import { z } from 'zod';
import { EnclaveKeysSchema, EvidenceSchema } from '../attestation/evidence.ts';
import { verifyEvidence } from '../attestation/verify.ts';
import { ed25519Sign, ed25519Verify } from '../common/ed25519.ts';
import { ObscuraError } from '../common/errors.ts';
import { sha256Hex } from '../common/hash.ts';
import { decryptToBuffer } from '../crypto/age/decrypt.ts';
import { encryptToBuffer } from '../crypto/age/encrypt.ts';

/** A peer enclave as the host introduces it: its keys and fresh evidence for a nonce. */
export const PeerSchema = z.object({
  workerId: z.string().min(1),
  keys: EnclaveKeysSchema,
  evidence: EvidenceSchema,
  nonce: z.string().regex(/^[0-9a-f]{64}$/),
});
/** A peer enclave. */
export type Peer = z.infer<typeof PeerSchema>;

/** An encrypted, signed message from one enclave to another. */
export const SealedMessageSchema = z.object({
  /** age ciphertext, base64. */
  ciphertext: z.string().min(1),
  /** Ed25519 signature of the ciphertext's SHA-256 by the sender. */
  signature: z.string().regex(/^[0-9a-f]{128}$/),
});
/** An encrypted, signed message. */
export type SealedMessage = z.infer<typeof SealedMessageSchema>;

/**
 * Throw 'federation_peer_refused' (403) unless the peer's evidence verifies with its nonce
 * and keys for `measurement` (the receiver's own: peers run the same code).
 */
export async function verifyPeer(peer: Peer, measurement: string, allowSimulated: boolean): Promise<void> {
  const verdict = await verifyEvidence(peer.evidence, {
    nonce: peer.nonce,
    keys: peer.keys,
    measurements: [measurement],
    allowSimulated,
  });
  if (!verdict.ok) {
    const failed = verdict.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    throw new ObscuraError(
      'federation_peer_refused',
      `worker ${peer.workerId} failed attestation (${failed.join('; ')})`,
      403,
      { worker: peer.workerId },
    );
  }
}

/** Seal `payload` (JSON) to the peer's recipient, signed with the sender's seed. */
export async function sealFor(
  recipient: string,
  senderSeed: Uint8Array,
  payload: unknown,
): Promise<SealedMessage> {
  const ciphertext = (
    await encryptToBuffer([recipient], Buffer.from(JSON.stringify(payload), 'utf8'))
  ).toString('base64');
  return { ciphertext, signature: ed25519Sign(senderSeed, sha256Hex(ciphertext)) };
}

/** Open a message to this enclave from the peer whose signing key is `senderKey`; throws 'federation_message_invalid'. */
export async function openFrom(msg: SealedMessage, ownIdentity: string, senderKey: string): Promise<unknown> {
  if (!ed25519Verify(senderKey, sha256Hex(msg.ciphertext), msg.signature)) {
    throw new ObscuraError(
      'federation_message_invalid',
      'a federation message is not signed by the peer it claims to come from',
      422,
    );
  }
  try {
    return JSON.parse(
      (await decryptToBuffer([ownIdentity], Buffer.from(msg.ciphertext, 'base64'))).toString('utf8'),
    );
  } catch (e) {
    throw new ObscuraError(
      'federation_message_invalid',
      'a federation message cannot be decrypted by this enclave',
      422,
      undefined,
      { cause: e },
    );
  }
}
