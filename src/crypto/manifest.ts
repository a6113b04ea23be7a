/**
 * The dataset manifest: the owner's signed statement of what a sealed file holds and who
 * may use it. It binds the owner, the schema, the row count, the plaintext and ciphertext
 * commitments, the worker and recipient it was sealed to, the allowed analysts and the
 * accepted enclave measurements, and optionally the owner's dataset policy. The host checks the signature and the ciphertext hash on
 * upload; the enclave checks everything again after decrypting, since the host is untrusted.
 *
 * Signature: sr25519 by the owner over UTF-8 `obscura-manifest/1\n` + JCS(manifest).
 */
import { z } from 'zod';
import { ObscuraError } from '../common/errors.ts';
import { hashJson } from '../common/hash.ts';
import { parseOrThrow } from '../common/validate.ts';
// The schema module alone: the data package's index pulls in DuckDB and Arrow, which the
// host and the CLI have no use for.
import { DatasetSchemaSchema } from '../data/schema.ts';
import { DatasetPolicySchema } from '../privacy/policy.ts';
import type { AccountKey } from './keys.ts';
import {
  AccountAddressSchema as address,
  AccountSignatureSchema,
  signStatement,
  verifyStatement,
} from './statement.ts';
import { ResultRecipientSchema } from './result-key.ts';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 as 64 lower-case hex characters');

/** The manifest body the owner signs. */
export const ManifestSchema = z.object({
  obscura: z.literal('manifest/1'),
  name: z.string().min(1).max(200),
  owner: address,
  format: z.enum(['csv', 'parquet', 'arrow']),
  schema: DatasetSchemaSchema,
  rows: z.number().int().nonnegative(),
  plaintext: z.object({ sha256, bytes: z.number().int().nonnegative() }),
  ciphertext: z.object({ sha256, bytes: z.number().int().positive() }),
  /** The worker and its age recipient the file was sealed to. */
  worker: z.object({ id: z.string().min(1), recipient: z.string().startsWith('age1') }),
  /** Analysts allowed to run pipelines over the dataset; "*" allows anyone. */
  analysts: z.array(z.union([address, z.literal('*')])).min(1),
  /** Enclave measurements the owner accepts to decrypt the dataset. */
  measurements: z.array(sha256).min(1),
  /** The owner's dataset policy (src/privacy/policy.ts), covered by the signature; absent: no policy. */
  policy: DatasetPolicySchema.optional(),
  /**
   * The owner's age recipient, derived from the owner's account key (result-key.ts): results
   * over this dataset are encrypted to it too. Absent (manifests signed before it existed):
   * the owner is not a reader of those results.
   */
  resultRecipient: ResultRecipientSchema.optional(),
  createdAt: z.iso.datetime(),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** A manifest with the owner's signature. */
export const SignedManifestSchema = z.object({
  manifest: ManifestSchema,
  signature: AccountSignatureSchema,
});
export type SignedManifest = z.infer<typeof SignedManifestSchema>;

/** The domain line of a manifest's signature (statement.ts). */
const DOMAIN = 'obscura-manifest/1';

/** Sign a manifest with the owner's key; throws 'manifest_owner_mismatch' if the key is not the owner's. */
export function signManifest(manifest: Manifest, owner: AccountKey): SignedManifest {
  if (owner.address !== manifest.owner) {
    throw new ObscuraError('manifest_owner_mismatch', 'the signing key is not the manifest owner', 400);
  }
  return { manifest, signature: signStatement(DOMAIN, manifest, owner) };
}

/** Parse untrusted JSON as a signed manifest; throws 'manifest_invalid' naming the field. */
export function parseSignedManifest(value: unknown): SignedManifest {
  return parseOrThrow(SignedManifestSchema, value, { code: 'manifest_invalid', what: 'manifest' });
}

/** Throw 'manifest_signature_invalid' unless the owner signed exactly this manifest. */
export function assertManifestSignature(signed: SignedManifest): void {
  if (!verifyStatement(DOMAIN, signed.manifest, signed.manifest.owner, signed.signature)) {
    throw new ObscuraError(
      'manifest_signature_invalid',
      'manifest signature does not verify for its owner',
      422,
    );
  }
}

/** The manifest's identity: SHA-256 of its JCS form (the signature is not part of it). */
export function manifestHash(manifest: Manifest): string {
  return hashJson(manifest);
}
