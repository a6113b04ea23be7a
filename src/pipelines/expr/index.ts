/**
 * The pipeline expression language (filter `where`, derive `columns`): text → tokens →
 * Pratt-parsed syntax tree → type-checked, parameterised DuckDB SQL. See tokenize.ts for
 * what the language admits and why it is hand-written.
 */
import type { ColumnType } from '../../data/index.ts';
import type { Params } from '../sql.ts';
import { columnsOf } from './ast.ts';
import { type CompiledExpr, compileExpr } from './compile.ts';
import { parseExpression } from './parse.ts';

export { type Expr, columnsOf } from './ast.ts';
export { ExpressionError, UnknownColumnError } from './error.ts';
export { parseExpression } from './parse.ts';
export { tokenize } from './tokenize.ts';
export type { CompiledExpr } from './compile.ts';
export type { ExprType } from './types.ts';

/**
 * Compile expression text against the columns available (`name → type`), binding its
 * literals into `params`. Returns the SQL, its type and the columns it reads. Throws
 * ExpressionError (or its subclass UnknownColumnError) with the character offset.
 */
export function compileExpression(
  src: string,
  columns: ReadonlyMap<string, ColumnType>,
  params: Params,
): CompiledExpr & { columns: string[] } {
  const ast = parseExpression(src);
  const compiled = compileExpr(ast, columns, params);
  return { ...compiled, columns: columnsOf(ast) };
}
