/**
 * How the column types and names appear in DuckDB: the SQL type of each column type, and
 * identifier quoting (double quotes, embedded quotes doubled), the only way a column name
 * ever enters SQL text.
 */
import {
  BIGINT,
  BOOLEAN,
  DATE,
  DOUBLE,
  type DuckDBType,
  INTEGER,
  TIMESTAMP,
  VARCHAR,
} from '@duckdb/node-api';
import type { ColumnType } from './schema.ts';

/** The DuckDB SQL type name of a column type. */
export function duckdbTypeName(t: ColumnType): string {
  return DUCKDB_TYPES[t].name;
}

/** The DuckDB type object of a column type (for appenders and bound parameters). */
export function duckdbType(t: ColumnType): DuckDBType {
  return DUCKDB_TYPES[t].type;
}

const DUCKDB_TYPES: Record<ColumnType, { name: string; type: DuckDBType }> = {
  string: { name: 'VARCHAR', type: VARCHAR },
  int32: { name: 'INTEGER', type: INTEGER },
  int64: { name: 'BIGINT', type: BIGINT },
  float64: { name: 'DOUBLE', type: DOUBLE },
  bool: { name: 'BOOLEAN', type: BOOLEAN },
  date: { name: 'DATE', type: DATE },
  timestamp: { name: 'TIMESTAMP', type: TIMESTAMP },
};

/** A SQL identifier for any name: double-quoted, embedded double quotes doubled. Throws on NUL. */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new TypeError('identifier contains NUL');
  return `"${name.replaceAll('"', '""')}"`;
}
