/**
 * The expression syntax tree. Every node keeps the offset of its first character so that
 * type errors found later still point into the document.
 */

/** Binary operators, after normalising `==` to `=` and `!=` to `<>`. */
export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '=' | '<>' | '<' | '<=' | '>' | '>=' | 'AND' | 'OR';

/** An expression node. */
export type Expr =
  | { kind: 'column'; name: string; pos: number }
  | { kind: 'number'; text: string; pos: number }
  | { kind: 'string'; value: string; pos: number }
  | { kind: 'bool'; value: boolean; pos: number }
  | { kind: 'null'; pos: number }
  | { kind: 'neg'; operand: Expr; pos: number }
  | { kind: 'not'; operand: Expr; pos: number }
  | { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr; pos: number }
  | { kind: 'in'; operand: Expr; list: Expr[]; negated: boolean; pos: number }
  | { kind: 'between'; operand: Expr; low: Expr; high: Expr; negated: boolean; pos: number }
  | { kind: 'isNull'; operand: Expr; negated: boolean; pos: number }
  | { kind: 'case'; whens: { condition: Expr; value: Expr }[]; otherwise?: Expr; pos: number }
  | { kind: 'call'; name: string; args: Expr[]; pos: number };

/** Names of the columns an expression reads, in first-use order. */
export function columnsOf(e: Expr, out: string[] = []): string[] {
  switch (e.kind) {
    case 'column':
      if (!out.includes(e.name)) out.push(e.name);
      break;
    case 'neg':
    case 'not':
    case 'isNull':
      columnsOf(e.operand, out);
      break;
    case 'binary':
      columnsOf(e.left, out);
      columnsOf(e.right, out);
      break;
    case 'in':
      columnsOf(e.operand, out);
      for (const x of e.list) columnsOf(x, out);
      break;
    case 'between':
      columnsOf(e.operand, out);
      columnsOf(e.low, out);
      columnsOf(e.high, out);
      break;
    case 'case':
      for (const w of e.whens) {
        columnsOf(w.condition, out);
        columnsOf(w.value, out);
      }
      if (e.otherwise) columnsOf(e.otherwise, out);
      break;
    case 'call':
      for (const a of e.args) columnsOf(a, out);
      break;
    default:
      break;
  }
  return out;
}
