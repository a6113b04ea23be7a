/**
 * ECDSA P-256 / SHA-256 signature checks over Intel's PKI (certificates and CRLs), parsed
 * here rather than by node:crypto's X509Certificate, so the same collateral checks run in
 * Node (`obscura attest`, `obscura seal`, the host) and in the dashboard page, which verifies
 * a hardware worker's quote itself before it seals anything to it. The signature itself is
 * checked by node:crypto (OpenSSL) where there is one, by @noble/curves in the page: the first
 * few verifications in a fresh process cost @noble/curves ~50 CPU-ms of cold BigInt code
 * (its base-point table, then the arithmetic), a CLI call's whole attestation budget, and
 * OpenSSL well under a millisecond. Both accept exactly the valid ECDSA signatures, high S
 * included (Intel's PKI does not normalise S).
 */
import { p256 } from '@noble/curves/nist';
import { ObscuraError } from '../../common/errors.ts';
import { children, content, readTlv, TAG, whole } from './der.ts';

/** The part of node:crypto used here. */
interface NodeCrypto {
  verify(
    algorithm: string,
    data: Uint8Array,
    key: { key: Uint8Array; format: 'der'; type: 'spki'; dsaEncoding: 'der' },
    signature: Uint8Array,
  ): boolean;
}

// Node's own crypto when running in Node (process.getBuiltinModule: Node ≥ 20.16), with no
// import the page's bundler would have to resolve; undefined in a browser.
const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined;

// SubjectPublicKeyInfo DER of an uncompressed P-256 point, before its 65 bytes (RFC 5480).
const SPKI_P256_PREFIX = Uint8Array.from([
  0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
  0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
]);

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
    if (nodeCrypto && publicKey.length === 65 && publicKey[0] === 0x04) {
      const key = new Uint8Array(SPKI_P256_PREFIX.length + 65);
      key.set(SPKI_P256_PREFIX);
      key.set(publicKey, SPKI_P256_PREFIX.length);
      return nodeCrypto.verify(
        'sha256',
        message,
        { key, format: 'der', type: 'spki', dsaEncoding: 'der' },
        signature,
      );
    }
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
