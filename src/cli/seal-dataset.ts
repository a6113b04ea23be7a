/**
 * Sealing a dataset on the owner's machine: read its schema and row count, seal it with age
 * to the worker's recipient, and sign the manifest. The attestation check comes first and
 * is the caller's job (see attest.ts); this function seals only to the recipient given.
 *
 * A CSV is read once, block by block, as it is hashed and encrypted, so memory stays flat in
 * the file's size. Its column types come from a sample, the blocks in its first SAMPLE_BYTES
 * (the header and the whole rows in them, checked and typed by the streaming inspector on this
 * thread, csv-stream.ts), and its exact row count from a count of every block by the sealing
 * thread that reads it, beside its hash (csv-row-count.ts, ~4x the inspector's speed, with no
 * hop to this thread after the sample): inspecting every value on this thread was most of the
 * time `obscura seal` took (BENCHMARKS.md "Sealing"). A value further on that does not fit its sampled type is not found here but at
 * upload, where the enclave parses every row against the signed schema and refuses the file
 * naming the row, the column and the type. `fullCheck` inspects every row here instead (the
 * types then fit every value, and a malformed row fails the seal). A file no larger than the
 * sample is always checked whole. Parquet and Arrow files are columnar and read whole to learn
 * their schema before they are sealed.
 */
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ObscuraError } from '../common/errors.ts';
import { type AccountKey, type SealStats, sealFile } from '../crypto/index.ts';
import { type Manifest, type SignedManifest, signManifest } from '../crypto/manifest.ts';
import { countedRows, countRowsStep, ROW_COUNT_STATE_WORDS } from '../data/csv-row-count.ts';
import { CsvInspector } from '../data/csv-stream.ts';
import { detectFormat } from '../data/format.ts';
import type { ColumnType, DatasetFormat, DatasetSchema } from '../data/schema.ts';
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
  /** CSV: inspect every row for the schema (the types fit every value; slower) instead of a sample. */
  fullCheck?: boolean;
  /** CSV: bytes of the file the column types are learnt from (default SAMPLE_BYTES); for tests. */
  sampleBytes?: number;
  /** CSV: the owner's types for these columns, over what the sample (or full check) found. */
  types?: Record<string, ColumnType>;
}

/**
 * The CSV bytes the column types are learnt from unless the owner asks for a full check: 8 MiB,
 * about 170,000 rows of the sample visits, ~20 ms of inspection. (DuckDB's CSV sniffer, too,
 * types columns from a sample and reports a value that does not fit when it loads it.)
 */
export const SAMPLE_BYTES = 8 * 1024 * 1024;

/** How the manifest's CSV schema was learnt: from every row, or from the first rows (`sample`). */
export type SchemaCheck = 'full' | 'sample';

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

/** `schema` with the owner's `types` for the columns they name; column_unknown when one is not in it. */
function withTypes(schema: DatasetSchema, types: Record<string, ColumnType> | undefined): DatasetSchema {
  if (!types) return schema;
  for (const name of Object.keys(types)) {
    if (!schema.some((c) => c.name === name)) {
      throw new ObscuraError(
        'column_unknown',
        `a type was given for column ${JSON.stringify(name)}, which the CSV's header does not have`,
        400,
      );
    }
  }
  return schema.map((c) =>
    Object.hasOwn(types, c.name) ? { name: c.name, type: types[c.name] as ColumnType } : c,
  );
}

/** Seal `file`, learning its schema and row count on the way (CSV) or before (columnar). */
async function sealWithSchema(
  req: SealRequest,
  format: DatasetFormat,
): Promise<{ schema: DatasetSchema; rows: number; stats: SealStats; check: SchemaCheck }> {
  const progress = req.onProgress ? { onProgress: req.onProgress } : {};
  if (format === 'csv') {
    const sampleBytes = req.fullCheck ? Number.POSITIVE_INFINITY : (req.sampleBytes ?? SAMPLE_BYTES);
    const inspector = new CsvInspector();
    let inspected = 0;
    let named = false;
    // Counted by the sealing thread that reads each block, beside its hash (csv-row-count.ts).
    const count = new Float64Array(new SharedArrayBuffer(8 * ROW_COUNT_STATE_WORDS));
    const stats = await sealFile(req.file, req.out, [req.worker.recipient], {
      // The sample: the blocks that start in its first bytes.
      onBlock: (block) => {
        inspector.push(block);
        inspected += block.length;
        // Columns the owner typed are checked against the header as soon as it is read, so a
        // typo stops the seal early and leaves nothing behind.
        const sample = named ? null : inspector.sample();
        if (sample) {
          withTypes(sample.schema, req.types);
          named = true;
        }
      },
      onBlockBytes: sampleBytes,
      ...(req.fullCheck ? {} : { scan: { step: countRowsStep, state: count } }),
      ...progress,
    });
    // The whole file was inspected (a full check, or a file no larger than the sample).
    if (inspected >= stats.plaintextBytes) {
      const whole = inspector.end();
      return { schema: withTypes(whole.schema, req.types), rows: whole.rows, stats, check: 'full' };
    }
    // Its whole rows type the columns (none: each column is a string, which every value fits).
    const sample = inspector.sample();
    if (!sample) {
      await rm(req.out, { force: true });
      throw new ObscuraError(
        'dataset_invalid',
        `CSV has no header row in its first ${sampleBytes} bytes: seal it with --full-check`,
        422,
      );
    }
    return { schema: withTypes(sample.schema, req.types), rows: countedRows(count), stats, check: 'sample' };
  }
  if (req.types && Object.keys(req.types).length > 0) {
    throw new ObscuraError(
      'types_not_csv',
      `column types can be given for a CSV only, not for ${format}`,
      400,
    );
  }
  const bytes = await readFile(req.file).catch(unreadable(req.file));
  // Loaded on demand: the columnar readers pull in Arrow and Parquet code.
  const { parseDataset } = await import('../data/parse.ts');
  const parsed = await parseDataset(bytes, format);
  const stats = await sealFile(req.file, req.out, [req.worker.recipient], progress);
  return { schema: parsed.schema, rows: parsed.rows, stats, check: 'full' };
}

/** Seal `file` to `out` and write the signed manifest to `<out>.manifest.json`; `check` says how a CSV schema was learnt. */
export async function sealDataset(
  req: SealRequest,
): Promise<{ signed: SignedManifest; stats: SealStats; manifestPath: string; check: SchemaCheck }> {
  const format = await formatOf(req.file);
  const { schema, rows, stats, check } = await sealWithSchema(req, format);
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
  return { signed, stats, manifestPath, check };
}
