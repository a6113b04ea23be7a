/**
 * Sealing a dataset on the owner's machine: read its schema and row count, seal it with age
 * to the worker's recipient, and sign the manifest. The attestation check comes first and
 * is the caller's job (see attest.ts); this function seals only to the recipient given.
 *
 * A CSV is read once: each block is inspected (schema and row count, csv-stream.ts), then
 * hashed and encrypted, so memory stays flat in the file's size. Parquet and Arrow files are
 * columnar and read whole to learn their schema before they are sealed.
 */
import { open, readFile, rename, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ObscuraError } from '../common/errors.ts';
import { type AccountKey, type SealStats, sealFile } from '../crypto/index.ts';
import { type Manifest, type SignedManifest, signManifest } from '../crypto/manifest.ts';
import { CsvInspector } from '../data/csv-stream.ts';
import { detectFormat } from '../data/format.ts';
import type { DatasetFormat, DatasetSchema } from '../data/schema.ts';
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
  /** Told the bytes sealed so far and the file's size (e.g. for a progress bar). */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

const unreadable = (file: string) => (e: unknown) => {
  throw new ObscuraError('file_unreadable', `cannot read ${file}`, 400, undefined, { cause: e });
};

/** The format of `file`, from its name and first bytes. */
async function formatOf(file: string): Promise<DatasetFormat> {
  const handle = await open(file, 'r').catch(unreadable(file));
  try {
    const head = Buffer.alloc(16);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return detectFormat(file, head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** Seal `file`, learning its schema and row count on the way (CSV) or before (columnar). */
async function sealWithSchema(
  req: SealRequest,
  format: DatasetFormat,
): Promise<{ schema: DatasetSchema; rows: number; stats: SealStats }> {
  const progress = req.onProgress ? { onProgress: req.onProgress } : {};
  if (format === 'csv') {
    const inspector = new CsvInspector();
    const stats = await sealFile(req.file, req.out, [req.worker.recipient], {
      onBlock: (block) => inspector.push(block),
      ...progress,
    });
    return { ...inspector.end(), stats };
  }
  const bytes = await readFile(req.file).catch(unreadable(req.file));
  // Loaded on demand: the columnar readers pull in Arrow and Parquet code.
  const { parseDataset } = await import('../data/parse.ts');
  const parsed = await parseDataset(bytes, format);
  const stats = await sealFile(req.file, req.out, [req.worker.recipient], progress);
  return { schema: parsed.schema, rows: parsed.rows, stats };
}

/** Seal `file` to `out` and write the signed manifest to `<out>.manifest.json`. */
export async function sealDataset(
  req: SealRequest,
): Promise<{ signed: SignedManifest; stats: SealStats; manifestPath: string }> {
  const format = await formatOf(req.file);
  const { schema, rows, stats } = await sealWithSchema(req, format);
  const manifest: Manifest = {
    obscura: 'manifest/1',
    name: req.name ?? basename(req.file),
    owner: req.owner.address,
    format,
    schema,
    rows,
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
