/**
 * Building parameterised SQL: every literal from a document becomes a typed `$n` bound
 * parameter, so no document text other than checked identifiers (always quoted) and
 * names from fixed tables ever becomes SQL text.
 */
import { BIGINT, BOOLEAN, DOUBLE, type DuckDBType, INTEGER, VARCHAR } from '@duckdb/node-api';

/** SQL types a bound parameter may have. */
export type ParamType = 'VARCHAR' | 'BIGINT' | 'INTEGER' | 'DOUBLE' | 'BOOLEAN';

/** One bound parameter. */
export interface SqlParam {
  value: string | number | boolean;
  type: ParamType;
}

/** A SQL statement with its parameters. */
export interface SqlStatement {
  sql: string;
  params: SqlParam[];
}

/** Collects bound parameters for one statement, numbering them $1, $2, … */
export class Params {
  readonly list: SqlParam[] = [];

  /** Bind a value; returns its placeholder. */
  add(value: string | number | boolean, type: ParamType): string {
    this.list.push({ value, type });
    return `$${this.list.length}`;
  }
}

const DUCK: Record<ParamType, DuckDBType> = { VARCHAR, BIGINT, INTEGER, DOUBLE, BOOLEAN };

/** Values and DuckDB types of parameters, as DuckDBConnection.run takes them. */
export function bindings(params: readonly SqlParam[]): {
  values: (string | number | boolean)[];
  types: DuckDBType[];
} {
  return { values: params.map((p) => p.value), types: params.map((p) => DUCK[p.type]) };
}

/**
 * Renumber the `$n` placeholders of SQL built here by `offset`, so statements can be
 * composed (a step inlined as a CTE of another). Double-quoted identifiers are skipped, so
 * a column named `a$1` is left alone; this SQL never holds single-quoted strings.
 */
export function shiftParams(sql: string, offset: number): string {
  if (offset === 0) return sql;
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (c === '"') {
      let j = i + 1;
      for (;;) {
        const q = sql.indexOf('"', j);
        if (q < 0) throw new Error('unterminated identifier in generated SQL');
        if (sql[q + 1] === '"') {
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      out += sql.slice(i, j);
      i = j;
    } else if (c === '$' && /[0-9]/.test(sql[i + 1] ?? '')) {
      let j = i + 1;
      while (j < sql.length && /[0-9]/.test(sql[j] as string)) j++;
      out += `$${Number(sql.slice(i + 1, j)) + offset}`;
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
