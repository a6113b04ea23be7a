/**
 * The fixed list of scalar functions expressions may call, with their argument checks and
 * result types. The SQL name comes from this table, never from the document, so no
 * expression can reach a DuckDB function outside it (read_csv, getenv, …).
 */
import { isNumericType } from '../../data/index.ts';
import { type ExprType, unify } from './types.ts';

/** One allowed function. `result` returns the result type or a reason the arguments are wrong. */
export interface FunctionSpec {
  sql: string;
  minArgs: number;
  maxArgs: number;
  result(args: ExprType[]): ExprType | { error: string };
}

const numeric = (t: ExprType) => t === 'null' || isNumericType(t);

function sameNumeric(name: string): FunctionSpec {
  return {
    sql: name,
    minArgs: 1,
    maxArgs: 1,
    result: ([a]) => (numeric(a as ExprType) ? (a as ExprType) : { error: `${name} needs a number` }),
  };
}

function toFloat(name: string): FunctionSpec {
  return {
    sql: name,
    minArgs: 1,
    maxArgs: 1,
    result: ([a]) => (numeric(a as ExprType) ? 'float64' : { error: `${name} needs a number` }),
  };
}

function stringFn(name: string, result: ExprType): FunctionSpec {
  return {
    sql: name,
    minArgs: 1,
    maxArgs: 1,
    result: ([a]) => (a === 'string' || a === 'null' ? result : { error: `${name} needs a string` }),
  };
}

function datePart(name: string, sql = name): FunctionSpec {
  return {
    sql,
    minArgs: 1,
    maxArgs: 1,
    result: ([a]) => (a === 'date' || a === 'timestamp' || a === 'null' ? 'int64' : { error: `${name} needs a date or timestamp` }),
  };
}

function timePart(name: string): FunctionSpec {
  return {
    sql: name,
    minArgs: 1,
    maxArgs: 1,
    result: ([a]) => (a === 'timestamp' || a === 'null' ? 'int64' : { error: `${name} needs a timestamp` }),
  };
}

/**
 * Allowed functions by (lower-case) name. `round`'s second argument must be an integer
 * literal. Date parts (int64) of a date or timestamp: year, quarter (1–4), month (1–12),
 * week (ISO 8601 week, 1–53), day (of the month), dayofweek (ISO: 1 = Monday … 7 =
 * Sunday), dayofyear (1–366); of a timestamp only: hour, minute, second (whole seconds).
 */
export const FUNCTIONS: ReadonlyMap<string, FunctionSpec> = new Map(Object.entries({
  abs: sameNumeric('abs'),
  floor: toFloat('floor'),
  ceil: toFloat('ceil'),
  round: {
    sql: 'round',
    minArgs: 1,
    maxArgs: 2,
    result: ([a]) => (numeric(a as ExprType) ? (a as ExprType) : { error: 'round needs a number' }),
  },
  ln: toFloat('ln'),
  exp: toFloat('exp'),
  sqrt: toFloat('sqrt'),
  lower: stringFn('lower', 'string'),
  upper: stringFn('upper', 'string'),
  length: stringFn('length', 'int64'),
  coalesce: {
    sql: 'coalesce',
    minArgs: 1,
    maxArgs: 32,
    result: (args) => {
      let t: ExprType | undefined = 'null';
      for (const a of args) {
        t = unify(t as ExprType, a);
        if (t === undefined) return { error: 'coalesce needs arguments of one type' };
      }
      return t as ExprType;
    },
  },
  year: datePart('year'),
  quarter: datePart('quarter'),
  month: datePart('month'),
  week: datePart('week'),
  day: datePart('day'),
  dayofweek: datePart('dayofweek', 'isodow'),
  dayofyear: datePart('dayofyear'),
  hour: timePart('hour'),
  minute: timePart('minute'),
  second: timePart('second'),
}));
