/**
 * Expression syntax tree → type-checked, parameterised DuckDB SQL. Columns must exist in
 * the step's input (they become quoted identifiers); literals become bound parameters;
 * functions come from the fixed table in functions.ts; every operation is parenthesised
 * so the output never depends on DuckDB's precedence and never contains `--`. A string
 * literal compared with a date or timestamp is checked here as an ISO date/timestamp and
 * bound as one, so a typo is an error in the document rather than at run time.
 *
 * No expression raises at run time because of a value: an error that depends on the rows
 * would tell whoever reads it something about them (a filter such as `CASE WHEN <test on
 * one patient> THEN ln(0 - age) ELSE 1 END > 0` fails exactly when the test holds). So
 * every operation that DuckDB would refuse for some values gives NULL for them instead:
 * integer `+ - *` and unary minus are computed in a wider type and narrowed back with
 * TRY_CAST, `%` never divides by -1 (functions.ts, overflowSafe and safeRemainder); `/`
 * and `%` by zero are NULL in DuckDB already; the functions' domains are in functions.ts.
 */
import { type ColumnType, parseDateBytes, parseTimestampBytes, quoteIdent } from '../../data/index.ts';
import { closest } from '../../common/did-you-mean.ts';
import type { Params } from '../sql.ts';
import type { Expr } from './ast.ts';
import { ExpressionError, UnknownColumnError } from './error.ts';
import { FUNCTIONS, overflowSafe, safeRemainder } from './functions.ts';
import { arithmeticType, comparable, type ExprType, numericOrNull, unify } from './types.ts';

/** SQL text of an expression and its static type. */
export interface CompiledExpr {
  sql: string;
  type: ExprType;
}

const encoder = new TextEncoder();

/**
 * Compile `e` against the columns available (`name → type`), adding its literals to
 * `params`. Throws UnknownColumnError for a missing column and ExpressionError for
 * anything ill-typed, both with the offending offset.
 */
export function compileExpr(e: Expr, columns: ReadonlyMap<string, ColumnType>, params: Params): CompiledExpr {
  const compile = (x: Expr): CompiledExpr => compileExpr(x, columns, params);
  const fail = (reason: string, at = e.pos): never => {
    throw new ExpressionError(reason, at);
  };
  switch (e.kind) {
    case 'column': {
      const type = columns.get(e.name);
      if (type === undefined) {
        throw new UnknownColumnError(e.name, e.pos, closest(e.name, columns.keys()));
      }
      return { sql: quoteIdent(e.name), type };
    }
    case 'number': {
      if (/^-?\d+$/.test(e.text)) {
        const v = Number(e.text);
        if (!Number.isSafeInteger(v)) fail('integer literal is out of range');
        return { sql: params.add(v, 'BIGINT'), type: 'int64' };
      }
      const v = Number(e.text);
      if (!Number.isFinite(v)) fail('number literal is out of range');
      return { sql: params.add(v, 'DOUBLE'), type: 'float64' };
    }
    case 'string':
      return { sql: params.add(e.value, 'VARCHAR'), type: 'string' };
    case 'bool':
      return { sql: params.add(e.value, 'BOOLEAN'), type: 'bool' };
    case 'null':
      return { sql: 'NULL', type: 'null' };
    case 'neg': {
      const a = compile(e.operand);
      if (!numericOrNull(a.type)) fail('unary minus needs a number');
      return { sql: overflowSafe(a.type, a.sql, (x) => `(-${x})`), type: a.type };
    }
    case 'not': {
      const a = compile(e.operand);
      if (a.type !== 'bool' && a.type !== 'null') fail('NOT needs a true/false value');
      return { sql: `(NOT ${a.sql})`, type: 'bool' };
    }
    case 'binary': {
      if (e.op === 'AND' || e.op === 'OR') {
        const a = compile(e.left);
        const b = compile(e.right);
        if ((a.type !== 'bool' && a.type !== 'null') || (b.type !== 'bool' && b.type !== 'null'))
          fail(`${e.op} needs true/false values`);
        return { sql: `(${a.sql} ${e.op} ${b.sql})`, type: 'bool' };
      }
      if (e.op === '=' || e.op === '<>' || e.op === '<' || e.op === '<=' || e.op === '>' || e.op === '>=') {
        const [a, b] = comparePair(e.left, e.right, columns, params);
        if (!comparable(a.type, b.type)) fail(`cannot compare ${a.type} with ${b.type}`);
        return { sql: `(${a.sql} ${e.op} ${b.sql})`, type: 'bool' };
      }
      const a = compile(e.left);
      const b = compile(e.right);
      if (!numericOrNull(a.type) || !numericOrNull(b.type)) fail(`'${e.op}' needs numbers`);
      const type = e.op === '/' ? 'float64' : arithmeticType(a.type, b.type);
      if (e.op === '%') return { sql: safeRemainder(type, a.sql, b.sql), type };
      return { sql: overflowSafe(type, [a.sql, b.sql], (x, y) => `(${x} ${e.op} ${y})`), type };
    }
    case 'in': {
      const a = compile(e.operand);
      const items = e.list.map((item) => {
        const c = coerced(item, a.type, columns, params);
        if (!comparable(a.type, c.type)) fail(`cannot compare ${a.type} with ${c.type}`, item.pos);
        return c.sql;
      });
      return { sql: `(${a.sql} ${e.negated ? 'NOT IN' : 'IN'} (${items.join(', ')}))`, type: 'bool' };
    }
    case 'between': {
      const a = compile(e.operand);
      const lo = coerced(e.low, a.type, columns, params);
      const hi = coerced(e.high, a.type, columns, params);
      if (!comparable(a.type, lo.type) || !comparable(a.type, hi.type))
        fail(`BETWEEN bounds must be comparable with ${a.type}`);
      return {
        sql: `(${a.sql} ${e.negated ? 'NOT BETWEEN' : 'BETWEEN'} ${lo.sql} AND ${hi.sql})`,
        type: 'bool',
      };
    }
    case 'isNull': {
      const a = compile(e.operand);
      return { sql: `(${a.sql} ${e.negated ? 'IS NOT NULL' : 'IS NULL'})`, type: 'bool' };
    }
    case 'case': {
      let type: ExprType | undefined = 'null';
      const parts: string[] = [];
      for (const w of e.whens) {
        const cond = compile(w.condition);
        if (cond.type !== 'bool' && cond.type !== 'null')
          fail('WHEN needs a true/false condition', w.condition.pos);
        const value = compile(w.value);
        type = unify(type as ExprType, value.type);
        if (type === undefined) fail('CASE branches have incompatible types', w.value.pos);
        parts.push(`WHEN ${cond.sql} THEN ${value.sql}`);
      }
      if (e.otherwise) {
        const other = compile(e.otherwise);
        type = unify(type as ExprType, other.type);
        if (type === undefined) fail('CASE branches have incompatible types', e.otherwise.pos);
        parts.push(`ELSE ${other.sql}`);
      }
      return { sql: `(CASE ${parts.join(' ')} END)`, type: type as ExprType };
    }
    case 'call': {
      const spec = FUNCTIONS.get(e.name);
      if (!spec) return fail(`unknown function '${e.name}'`);
      if (e.args.length < spec.minArgs || e.args.length > spec.maxArgs) {
        fail(
          `${e.name} takes ${spec.minArgs === spec.maxArgs ? spec.minArgs : `${spec.minArgs} to ${spec.maxArgs}`} argument(s)`,
        );
      }
      const args: CompiledExpr[] = e.args.map((a, i) => {
        if (e.name === 'round' && i === 1) {
          if (a.kind !== 'number' || !/^-?\d+$/.test(a.text) || Math.abs(Number(a.text)) > 100) {
            fail('round takes a whole number of digits between -100 and 100', a.pos);
          }
          return { sql: params.add(Number((a as { text: string }).text), 'INTEGER'), type: 'int32' };
        }
        return compile(a);
      });
      const result = spec.result(args.map((a) => a.type));
      if (typeof result === 'object') return fail(result.error);
      return { sql: spec.call(args, result), type: result };
    }
  }
}

/** Compile both sides of a comparison, letting a string literal take a date/timestamp side's type. */
function comparePair(
  left: Expr,
  right: Expr,
  columns: ReadonlyMap<string, ColumnType>,
  params: Params,
): [CompiledExpr, CompiledExpr] {
  if (left.kind === 'string' && right.kind !== 'string') {
    // Compile the right side first to learn its type; parameter numbering follows compile order, which is fine.
    const b = compileExpr(right, columns, params);
    return [coerced(left, b.type, columns, params), b];
  }
  const a = compileExpr(left, columns, params);
  return [a, coerced(right, a.type, columns, params)];
}

/** Compile `e`; a string literal meeting a date or timestamp becomes one (checked now). */
function coerced(
  e: Expr,
  toward: ExprType,
  columns: ReadonlyMap<string, ColumnType>,
  params: Params,
): CompiledExpr {
  if (e.kind !== 'string' || (toward !== 'date' && toward !== 'timestamp'))
    return compileExpr(e, columns, params);
  const bytes = encoder.encode(e.value);
  if (toward === 'date' || bytes.length === 10) {
    const days = parseDateBytes(bytes, 0, bytes.length);
    if (Number.isNaN(days)) throw new ExpressionError('expected a date written YYYY-MM-DD', e.pos);
    return { sql: `CAST(${params.add(e.value, 'VARCHAR')} AS DATE)`, type: 'date' };
  }
  const micros = parseTimestampBytes(bytes, 0, bytes.length);
  if (typeof micros !== 'number' || Number.isNaN(micros)) {
    throw new ExpressionError('expected a timestamp written YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|±HH:MM]', e.pos);
  }
  return { sql: `make_timestamp(${params.add(micros, 'BIGINT')})`, type: 'timestamp' };
}
