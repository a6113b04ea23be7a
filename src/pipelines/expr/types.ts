/**
 * Static types of expressions: the column types plus `null` (the type of the NULL
 * literal, compatible with everything). Arithmetic follows DuckDB: int32 with int32 stays
 * int32, any int64 widens to int64, any float64 to float64.
 */
import { type ColumnType, isNumericType } from '../../data/index.ts';

/** The type of an expression. */
export type ExprType = ColumnType | 'null';

/** True for numeric types (and null, which fits anywhere). */
export function numericOrNull(t: ExprType): boolean {
  return t === 'null' || isNumericType(t);
}

/** The result type of arithmetic between two numeric (or null) types. */
export function arithmeticType(a: ExprType, b: ExprType): ExprType {
  if (a === 'null') return b;
  if (b === 'null') return a;
  if (a === 'float64' || b === 'float64') return 'float64';
  if (a === 'int64' || b === 'int64') return 'int64';
  return 'int32';
}

/** Whether values of types a and b can be compared (=, <, IN, BETWEEN). */
export function comparable(a: ExprType, b: ExprType): boolean {
  if (a === 'null' || b === 'null' || a === b) return true;
  if (isNumericType(a) && isNumericType(b)) return true;
  const temporal = (t: ExprType) => t === 'date' || t === 'timestamp';
  return temporal(a) && temporal(b);
}

/** The common type of two branches (CASE, coalesce), or undefined when there is none. */
export function unify(a: ExprType, b: ExprType): ExprType | undefined {
  if (a === 'null') return b;
  if (b === 'null' || a === b) return a;
  if (isNumericType(a) && isNumericType(b)) return arithmeticType(a, b);
  if ((a === 'date' || a === 'timestamp') && (b === 'date' || b === 'timestamp')) return 'timestamp';
  return undefined;
}
