/**
 * Sealing a dataset on the owner's machine: read its schema and row count, seal it with age
 * to the worker's recipient, and sign the manifest. The attestation check comes first and
 * is the caller's job (see attest.ts); this function seals only to the recipient given.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ObscuraError } from '../common/errors.ts';
import { type AccountKey, type SealStats, sealFile } from '../crypto/index.ts';
import { type Manifest, type SignedManifest, signManifest } from '../crypto/manifest.ts';
import { detectFormat, inspectCsv, parseDataset } from '../data/index.ts';
import type { DatasetPolicy } from '../privacy/policy.ts';
import { manifestPathFor } from './paths.ts';

/** What to seal, to whom, and who may use it. */
export interface SealRequest {
  file: string;
  out: string;
  owner: AccountKey;
  worker: { id: string; recipient: string };
  analysts: string[];
  measurements: string[];
  name?: string;
  /** The dataset policy to sign into the manifest. */
  policy?: DatasetPolicy;
}

/** Seal `file` to `out` and write the signed manifest to `<out>.manifest.json`. */
export async function sealDataset(
  req: SealRequest,
): Promise<{ signed: SignedManifest; stats: SealStats; manifestPath: string }> {
  const bytes = await readFile(req.file).catch((e: unknown) => {
    throw new ObscuraError('file_unreadable', `cannot read ${req.file}`, 400, undefined, { cause: e });
  });
  const format = detectFormat(req.file, bytes.subarray(0, 16));
  // CSV needs only its schema and row count here: infer them without building the columns.
  const parsed = format === 'csv' ? inspectCsv(bytes) : await parseDataset(bytes, format);
  const stats = await sealFile(req.file, req.out, [req.worker.recipient]);
  const manifest: Manifest = {
    obscura: 'manifest/1',
    name: req.name ?? basename(req.file),
    owner: req.owner.address,
    format,
    schema: parsed.schema,
    rows: parsed.rows,
    plaintext: { sha256: stats.plaintextSha256, bytes: stats.plaintextBytes },
    ciphertext: { sha256: stats.ciphertextSha256, bytes: stats.ciphertextBytes },
    worker: { id: req.worker.id, recipient: req.worker.recipient },
    analysts: req.analysts,
    measurements: req.measurements,
    ...(req.policy ? { policy: req.policy } : {}),
    // The owner reads results over this dataset with the same account key.
    resultRecipient: req.owner.resultRecipient,
    createdAt: new Date().toISOString(),
  };
  const signed = signManifest(manifest, req.owner);
  const manifestPath = manifestPathFor(req.out);
  await writeFile(`${manifestPath}.tmp`, `${JSON.stringify(signed, null, 2)}\n`);
  await rename(`${manifestPath}.tmp`, manifestPath);
  return { signed, stats, manifestPath };
}
