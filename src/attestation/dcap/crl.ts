/**
 * Certificate revocation lists of the DCAP collateral (Intel's root CA CRL and PCK CA CRL):
 * their validity dates and their signatures. @phala/dcap-qvl consults CRLs only for revoked
 * serials and silently skips one it cannot parse, so a CRL it is handed is never
 * authenticated; collateral comes over an untrusted network, so Obscura checks that each CRL
 * is signed by the CA it speaks for and is within its dates.
 */
import { ObscuraError } from '../../common/errors.ts';
import { children, content, readTime, readTlv, TAG, type Tlv, whole } from './der.ts';
import { certificatePublicKey, verifyP256 } from './p256.ts';

/** ecdsa-with-SHA256 (1.2.840.10045.4.3.2), the only signature algorithm Intel's PKI uses. */
const ECDSA_SHA256 = Buffer.from('06082a8648ce3d040302', 'hex');

/** What Obscura reads from a CRL. */
export interface CrlInfo {
  /** DER of the issuer Name, to compare with the issuing certificate's subject. */
  issuer: Buffer;
  /** Unix seconds. */
  thisUpdate: number;
  /** Unix seconds; undefined when the CRL names none. */
  nextUpdate: number | undefined;
  revokedCount: number;
  tbs: Buffer;
  signatureAlgorithm: Buffer;
  /** DER-encoded ECDSA signature (the BIT STRING's content without its unused-bits byte). */
  signature: Buffer;
}

function invalid(what: string): ObscuraError {
  return new ObscuraError('crl_invalid', `malformed CRL: ${what}`, 422);
}

function seq(t: Tlv | undefined, what: string): Tlv {
  if (!t || t.tag !== TAG.sequence) throw invalid(`expected a SEQUENCE for ${what}`);
  return t;
}

/** Parse a DER CRL (RFC 5280 §5.1). */
export function parseCrl(der: Uint8Array): CrlInfo {
  const top = seq(readTlv(der, 0), 'CertificateList');
  if (top.end !== der.length) throw invalid('trailing bytes');
  const [tbsT, algT, sigT] = children(der, top);
  const tbs = seq(tbsT, 'tbsCertList');
  const alg = seq(algT, 'signatureAlgorithm');
  if (!sigT || sigT.tag !== TAG.bitString) throw invalid('expected a BIT STRING signature');
  const fields = children(der, tbs);
  let i = 0;
  if (fields[i]?.tag === TAG.integer) i++; // version
  seq(fields[i++], 'signature'); // inner algorithm identifier
  const issuer = seq(fields[i++], 'issuer');
  const thisT = fields[i++];
  if (!thisT || (thisT.tag !== TAG.utcTime && thisT.tag !== TAG.generalizedTime))
    throw invalid('missing thisUpdate');
  const thisUpdate = readTime(der, thisT);
  let nextUpdate: number | undefined;
  const maybeNext = fields[i];
  if (maybeNext && (maybeNext.tag === TAG.utcTime || maybeNext.tag === TAG.generalizedTime)) {
    nextUpdate = readTime(der, maybeNext);
    i++;
  }
  const maybeRevoked = fields[i];
  const revokedCount = maybeRevoked?.tag === TAG.sequence ? children(der, maybeRevoked).length : 0;
  const sigBits = content(der, sigT);
  if (sigBits[0] !== 0) throw invalid('signature BIT STRING has unused bits');
  return {
    issuer: Buffer.from(whole(der, issuer)),
    thisUpdate,
    nextUpdate,
    revokedCount,
    tbs: Buffer.from(whole(der, tbs)),
    signatureAlgorithm: Buffer.from(content(der, alg)),
    signature: Buffer.from(sigBits.subarray(1)),
  };
}

/** The DER issuer and subject Names of a certificate. */
export function certificateNames(der: Uint8Array): { issuer: Buffer; subject: Buffer } {
  const top = readTlv(der, 0);
  const tbs = children(der, top)[0];
  if (!tbs || tbs.tag !== TAG.sequence)
    throw new ObscuraError('certificate_invalid', 'malformed certificate', 422);
  const f = children(der, tbs);
  const at = f[0]?.tag === TAG.context0 ? 1 : 0; // [0] version
  const issuer = f[at + 2];
  const subject = f[at + 4];
  if (!issuer || !subject)
    throw new ObscuraError('certificate_invalid', 'malformed certificate: no issuer/subject', 422);
  return { issuer: Buffer.from(whole(der, issuer)), subject: Buffer.from(whole(der, subject)) };
}

/**
 * Whether `crl` is signed by the certificate `issuerDer` and names it as issuer. Returns a
 * reason when not.
 */
export function checkCrlIssuer(crl: CrlInfo, issuerDer: Uint8Array): string | undefined {
  if (!crl.signatureAlgorithm.subarray(0, ECDSA_SHA256.length).equals(ECDSA_SHA256))
    return 'unsupported signature algorithm (expected ecdsa-with-SHA256)';
  if (!crl.issuer.equals(certificateNames(issuerDer).subject)) return 'its issuer is not the expected CA';
  let ok = false;
  try {
    ok = verifyP256(crl.tbs, crl.signature, certificatePublicKey(issuerDer));
  } catch {
    ok = false;
  }
  return ok ? undefined : 'its signature does not verify';
}
