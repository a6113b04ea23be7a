/**
 * Bytes → dataset: dispatch on the format to the CSV, Parquet or Arrow IPC reader, all of
 * which produce the same normalised Arrow table. Everything happens in memory; nothing is
 * written anywhere.
 */
import { ObscuraError } from '../common/errors.ts';
import { parseArrowIpc } from './arrow-ipc.ts';
import { parseCsv } from './csv.ts';
import { parseParquet } from './parquet.ts';
import type { DatasetFormat, DatasetSchema, ParsedDataset } from './schema.ts';

/** Options of parseDataset. */
export interface ParseOptions {
  /**
   * The schema the dataset must have (e.g. the one its owner signed). CSV values are then
   * parsed as these types instead of inferred; Parquet and Arrow must normalise to exactly it.
   */
  schema?: DatasetSchema;
}

/**
 * Parse a dataset held in memory into a normalised Arrow table. The result never aliases
 * `bytes`, so callers may wipe them afterwards. Throws ObscuraError 'dataset_invalid'
 * (422) with the row and column at fault (never a value), or 'dataset_schema_mismatch'
 * (422) when `opts.schema` is given and not met.
 */
export async function parseDataset(
  bytes: Uint8Array,
  format: DatasetFormat,
  opts: ParseOptions = {},
): Promise<ParsedDataset> {
  let parsed: ParsedDataset;
  switch (format) {
    case 'csv':
      parsed = parseCsv(bytes, opts.schema);
      break;
    case 'parquet':
      parsed = await parseParquet(bytes);
      break;
    case 'arrow':
      parsed = parseArrowIpc(bytes);
      break;
    default:
      throw new ObscuraError(
        'dataset_format_unknown',
        `unknown dataset format ${JSON.stringify(format)}`,
        415,
      );
  }
  if (opts.schema) assertSchema(parsed.schema, opts.schema);
  return parsed;
}

function assertSchema(actual: DatasetSchema, expected: DatasetSchema): void {
  const same =
    actual.length === expected.length &&
    actual.every((c, i) => c.name === expected[i]?.name && c.type === expected[i]?.type);
  if (same) return;
  const i = actual.findIndex((c, k) => c.name !== expected[k]?.name || c.type !== expected[k]?.type);
  const column = (actual[i] ?? expected[i] ?? actual[actual.length - 1])?.name;
  throw new ObscuraError(
    'dataset_schema_mismatch',
    `dataset columns differ from the expected schema at column ${JSON.stringify(column)}`,
    422,
    {
      column,
      expected,
      actual,
    },
  );
}
