/**
 * Datasets inside the enclave: detecting the format, parsing CSV / Parquet / Arrow IPC
 * bytes into a normalised Arrow table (types in COLUMN_TYPES), and loading it into a
 * locked-down in-memory DuckDB. Plaintext stays in memory throughout.
 */
export {
  COLUMN_TYPES,
  type ColumnSpec,
  ColumnNameSchema,
  ColumnSpecSchema,
  type ColumnType,
  ColumnTypeSchema,
  type DatasetFormat,
  DatasetFormatSchema,
  type DatasetSchema,
  DatasetSchemaSchema,
  isCompatibleType,
  isIntegerType,
  isNumericType,
  type ParsedDataset,
} from './schema.ts';
export { detectFormat } from './format.ts';
export { type ParseOptions, parseDataset } from './parse.ts';
export { inspectCsv } from './csv.ts';
export { type LoadOptions, loadIntoDuckDB } from './duckdb-load.ts';
export { finishScans, scanFailure, scanIntoDuckDB } from './duckdb-scan.ts';
export {
  type ChunkedRows,
  isChunkedRows,
  type RowBatch,
  type RowPass,
  type RowRange,
} from './chunked-rows.ts';
export {
  type DuckDBOptions,
  dropWarm,
  dropWarmDataset,
  lockedDownConfig,
  type WarmPreference,
  withDuckDB,
  withDuckDBConnections,
} from './duckdb.ts';
export { isWarm, warmKey } from './duckdb-warm.ts';
export {
  allParsed,
  isWarmInput,
  parsedOf,
  type WarmInput,
  warmBytesAtLeast,
  warmIntoDuckDB,
} from './duckdb-warm-load.ts';
export { duckdbType, duckdbTypeName, quoteIdent } from './duckdb-types.ts';
export { formatDate, formatTimestamp, parseDateBytes, parseTimestampBytes } from './dates.ts';
