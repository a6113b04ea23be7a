/**
 * Statements signed by an account key (sr25519): a manifest, an approval, a policy update,
 * a job request, an upgrade authorisation. Each is signed over the UTF-8 bytes of its
 * domain line (`obscura-approval/2`, …, naming the kind and its version, so a signature
 * over one kind never verifies as another) followed by a newline and the statement's JCS
 * form. One rule for every kind, kept here: the wire format of each is exactly that.
 */
import { z } from 'zod';
import { canonicalJson } from '../common/hash.ts';
import { type AccountKey, isValidAddress, verifyAccountSignature } from './keys.ts';

/** An account address (SS58) that signs or is named in a statement. */
export const AccountAddressSchema = z.string().refine(isValidAddress, 'expected an ss58 account address');

/** An account's sr25519 signature of a statement, as 0x hex. */
export const AccountSignatureSchema = z
  .string()
  .regex(/^0x[0-9a-f]{128}$/, 'expected a 64-byte sr25519 signature as 0x hex');

/** The bytes an account signs for `body` under `domain`: `<domain>\n<JCS(body)>`. */
export function statementSigningBytes(domain: string, body: unknown): Uint8Array {
  return new TextEncoder().encode(`${domain}\n${canonicalJson(body)}`);
}

/** Sign `body` under `domain` with `signer`'s account key; the signature as 0x hex. */
export function signStatement(domain: string, body: unknown, signer: AccountKey): string {
  return signer.sign(statementSigningBytes(domain, body));
}

/** Whether `signature` is the account `signer`'s over exactly `body` under `domain`. */
export function verifyStatement(domain: string, body: unknown, signer: string, signature: string): boolean {
  return verifyAccountSignature(signer, statementSigningBytes(domain, body), signature);
}
