/**
 * The dataset schema: the small set of column types every dataset is normalised to,
 * whatever format it arrived in (CSV, Parquet, Arrow IPC), and the parsed form a dataset
 * takes inside the enclave. The schema is public metadata (it is signed into the owner's
 * manifest); the table is plaintext and never leaves enclave memory.
 */
import type { Table } from 'apache-arrow';
import { z } from 'zod';
import { hasControlCharacter, MAX_COLUMN_NAME } from './names.ts';

/** The column types Obscura knows. Every input type is mapped onto one of these. */
export const COLUMN_TYPES = ['string', 'int32', 'int64', 'float64', 'bool', 'date', 'timestamp'] as const;

/** Schema of one column type name. */
export const ColumnTypeSchema = z.enum(COLUMN_TYPES);
/** One of the normalised column types. */
export type ColumnType = z.infer<typeof ColumnTypeSchema>;

/** Bytes a value of each fixed-width column type takes in memory (Arrow's and DuckDB's layouts agree). */
export const FIXED_WIDTH: Partial<Record<ColumnType, number>> = {
  int32: 4,
  date: 4,
  int64: 8,
  timestamp: 8,
  float64: 8,
};

/** Schema of a column name: non-empty, bounded, no control characters. */
export const ColumnNameSchema = z
  .string()
  .min(1, 'column name must not be empty')
  .max(MAX_COLUMN_NAME, `column name must be at most ${MAX_COLUMN_NAME} characters`)
  .refine((s) => !hasControlCharacter(s), 'column name must not contain control characters');

/** Schema of one column: its name and type. */
export const ColumnSpecSchema = z.strictObject({ name: ColumnNameSchema, type: ColumnTypeSchema });
/** One column of a dataset schema. */
export type ColumnSpec = z.infer<typeof ColumnSpecSchema>;

/**
 * Schema of a dataset schema: columns in file order. Names are unique ignoring case,
 * because DuckDB identifiers are case-insensitive.
 */
export const DatasetSchemaSchema = z.array(ColumnSpecSchema).superRefine((cols, ctx) => {
  const seen = new Set<string>();
  cols.forEach((c, i) => {
    const key = c.name.toLowerCase();
    if (seen.has(key))
      ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate column name ${c.name}` });
    seen.add(key);
  });
});
/** A dataset's columns in order. */
export type DatasetSchema = z.infer<typeof DatasetSchemaSchema>;

/** The formats a dataset may arrive in. */
export const DatasetFormatSchema = z.enum(['csv', 'parquet', 'arrow']);
/** A dataset file format. */
export type DatasetFormat = z.infer<typeof DatasetFormatSchema>;

/** A dataset parsed into enclave memory: an Arrow table whose column types follow `schema`. */
export interface ParsedDataset {
  table: Table;
  schema: DatasetSchema;
  rows: number;
}

/** True for the integer column types. */
export function isIntegerType(t: ColumnType): boolean {
  return t === 'int32' || t === 'int64';
}

/** True for the numeric column types (integers and float64). */
export function isNumericType(t: ColumnType): boolean {
  return t === 'int32' || t === 'int64' || t === 'float64';
}

/**
 * Whether data of type `actual` satisfies a declaration of type `declared`: the same type,
 * any integer for an integer (CSV infers int64 for every integer column), or any number
 * for float64 (a float column whose values all happen to be whole).
 */
export function isCompatibleType(declared: ColumnType, actual: ColumnType): boolean {
  if (declared === actual) return true;
  if (isIntegerType(declared) && isIntegerType(actual)) return true;
  return declared === 'float64' && isIntegerType(actual);
}
