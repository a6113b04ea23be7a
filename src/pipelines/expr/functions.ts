/**
 * The fixed list of scalar functions expressions may call, with their argument checks and
 * result types. The SQL comes from this table, never from the document, so no expression
 * can reach a DuckDB function outside it (read_csv, getenv, …).
 *
 * No function raises for a value (see compile.ts for why): outside its domain it gives
 * NULL. `ln` of a number <= 0, `sqrt` of a negative one, and `abs` or `round` of an
 * integer whose result does not fit its type are NULL; `exp` overflows to infinity as
 * DuckDB's does. The guards are written without repeating the argument's SQL, so nested
 * calls stay linear in size, and without DuckDB's TRY(), whose per-row retry after an
 * error is a thousand times slower on the failing rows (measured: 13 s against 18 ms for
 * 2M rows), a delay that would itself tell how many rows failed.
 */
import { isNumericType } from '../../data/index.ts';
import { type ExprType, unify } from './types.ts';

/** A compiled argument: its SQL and type. */
export interface CompiledArg {
  sql: string;
  type: ExprType;
}

/** One allowed function. `result` returns the result type or a reason the arguments are wrong. */
export interface FunctionSpec {
  minArgs: number;
  maxArgs: number;
  result(args: ExprType[]): ExprType | { error: string };
  /** The SQL of a call with these (checked) arguments and result type. */
  call(args: readonly CompiledArg[], result: ExprType): string;
}

/** Each integer result type, and the type wide enough that no + - * of two such values overflows it. */
const INTEGER_SQL: Partial<Record<ExprType, { sql: string; wide: string }>> = {
  int32: { sql: 'INTEGER', wide: 'BIGINT' },
  int64: { sql: 'BIGINT', wide: 'HUGEINT' },
};

/**
 * `build` applied to `operands`, NULL instead of an overflow: for an integer result the
 * operands are widened (int32 to BIGINT, int64 to HUGEINT: no + - * of two narrower values
 * overflows them) and the result narrowed back with TRY_CAST. `operands` may be one SQL text
 * or several. Not for `%`: HUGEINT remainder costs about 1 µs a row (measured), see safeRemainder.
 */
export function overflowSafe(
  type: ExprType,
  operands: string | readonly string[],
  build: (...xs: string[]) => string,
): string {
  const list = typeof operands === 'string' ? [operands] : [...operands];
  const t = INTEGER_SQL[type];
  if (!t) return build(...list);
  return `TRY_CAST(${build(...list.map((x) => `CAST(${x} AS ${t.wide})`))} AS ${t.sql})`;
}

/**
 * `a % b` that never raises: the only integer remainder DuckDB refuses is MIN % -1 (its
 * quotient overflows), and x % -1 = x % 1 = 0 for every x, so a divisor of -1 becomes 1,
 * bound once through a lambda parameter so that b's SQL is not repeated. By zero it is NULL
 * (DuckDB's own rule).
 */
export function safeRemainder(type: ExprType, a: string, b: string): string {
  if (!INTEGER_SQL[type]) return `(${a} % ${b})`;
  return `(${a} % list_transform([${b}], lambda "__obscura_d": CASE WHEN "__obscura_d" = -1 THEN 1 ELSE "__obscura_d" END)[1])`;
}

const plainCall = (sql: string) => (args: readonly CompiledArg[]) =>
  `${sql}(${args.map((a) => a.sql).join(', ')})`;

const numeric = (t: ExprType) => t === 'null' || isNumericType(t);

function toFloat(name: string, call: FunctionSpec['call'] = plainCall(name)): FunctionSpec {
  return {
    call,
    minArgs: 1,
    maxArgs: 1,
    result: ([a]) => (numeric(a as ExprType) ? 'float64' : { error: `${name} needs a number` }),
  };
}

function stringFn(name: string, result: ExprType): FunctionSpec {
  return {
    call: plainCall(name),
    minArgs: 1,
    maxArgs: 1,
    result: ([a]) => (a === 'string' || a === 'null' ? result : { error: `${name} needs a string` }),
  };
}

function datePart(name: string, sql = name): FunctionSpec {
  return {
    call: plainCall(sql),
    minArgs: 1,
    maxArgs: 1,
    result: ([a]) =>
      a === 'date' || a === 'timestamp' || a === 'null'
        ? 'int64'
        : { error: `${name} needs a date or timestamp` },
  };
}

function timePart(name: string): FunctionSpec {
  return {
    call: plainCall(name),
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
export const FUNCTIONS: ReadonlyMap<string, FunctionSpec> = new Map(
  Object.entries({
    abs: {
      call: ([a], type) => overflowSafe(type, (a as CompiledArg).sql, (x) => `abs(${x})`),
      minArgs: 1,
      maxArgs: 1,
      result: ([a]) => (numeric(a as ExprType) ? (a as ExprType) : { error: 'abs needs a number' }),
    },
    floor: toFloat('floor'),
    ceil: toFloat('ceil'),
    round: {
      // Rounding an integer to tens or more can leave its type (round(2147483647, -1)).
      call: ([a, digits], type) =>
        (type === 'int32' || type === 'int64') && digits
          ? overflowSafe(type, (a as CompiledArg).sql, (x) => `round(${x}, ${digits.sql})`)
          : plainCall('round')([a as CompiledArg, ...(digits ? [digits] : [])]),
      minArgs: 1,
      maxArgs: 2,
      result: ([a]) => (numeric(a as ExprType) ? (a as ExprType) : { error: 'round needs a number' }),
    },
    // greatest() moves every number <= 0 (and -infinity) to 0, which nullif() makes NULL.
    ln: toFloat('ln', ([a]) => `ln(nullif(greatest(${(a as CompiledArg).sql}, 0), 0))`),
    exp: toFloat('exp'),
    // The argument is bound once to a lambda parameter, so its SQL is not repeated.
    sqrt: toFloat(
      'sqrt',
      ([a]) =>
        `list_transform([${(a as CompiledArg).sql}], lambda "__obscura_x": CASE WHEN "__obscura_x" >= 0 THEN sqrt("__obscura_x") END)[1]`,
    ),
    lower: stringFn('lower', 'string'),
    upper: stringFn('upper', 'string'),
    length: stringFn('length', 'int64'),
    coalesce: {
      call: plainCall('coalesce'),
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
  }),
);
