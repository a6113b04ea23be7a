/**
 * ECDSA P-256 / SHA-256 signature checks over Intel's PKI (certificates and CRLs), with
 * @noble/curves rather than node:crypto's X509Certificate, so the same collateral checks run
 * in Node (`obscura attest`, the host) and in the dashboard page, which verifies a hardware
 * worker's quote itself before it seals anything to it.
 */
import { p256 } from '@noble/curves/nist';
import { ObscuraError } from '../../common/errors.ts';
import { children, content, readTlv, TAG, whole } from './der.ts';

function malformed(what: string): ObscuraError {
  return new ObscuraError('certificate_invalid', `malformed certificate: ${what}`, 422);
}

/** The uncompressed EC point of a DER certificate's subject public key. */
export function certificatePublicKey(der: Uint8Array): Uint8Array {
  const top = readTlv(der, 0);
  const tbs = children(der, top)[0];
  if (!tbs || tbs.tag !== TAG.sequence) throw malformed('no tbsCertificate');
  const f = children(der, tbs);
  const at = f[0]?.tag === TAG.context0 ? 1 : 0; // [0] version
  const spki = f[at + 5];
  if (!spki || spki.tag !== TAG.sequence) throw malformed('no subjectPublicKeyInfo');
  const bits = children(der, spki)[1];
  if (!bits || bits.tag !== TAG.bitString) throw malformed('no subjectPublicKey');
  const key = content(der, bits);
  if (key[0] !== 0) throw malformed('public key BIT STRING has unused bits');
  return key.subarray(1);
}

/**
 * Whether `signature` (DER ECDSA-Sig-Value) over `message` verifies with P-256 public key
 * `publicKey` (SHA-256). High-S signatures are valid ECDSA (Intel's PKI does not normalise S).
 */
export function verifyP256(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return p256.verify(signature, message, publicKey, { prehash: true, lowS: false, format: 'der' });
  } catch {
    return false;
  }
}

/** Whether certificate `der` is signed by the key of certificate `issuerDer` (signature only). */
export function certificateSignedBy(der: Uint8Array, issuerDer: Uint8Array): boolean {
  try {
    const top = readTlv(der, 0);
    const [tbs, , sig] = children(der, top);
    if (!tbs || !sig || sig.tag !== TAG.bitString) return false;
    const bits = content(der, sig);
    if (bits[0] !== 0) return false;
    return verifyP256(whole(der, tbs), bits.subarray(1), certificatePublicKey(issuerDer));
  } catch {
    return false;
  }
}
