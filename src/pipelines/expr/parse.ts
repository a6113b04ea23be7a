/**
 * Pratt parser of the expression language. Precedence, loosest first: OR; AND; NOT;
 * comparisons (= <> < <= > >=, IS [NOT] NULL, [NOT] IN (...), [NOT] BETWEEN .. AND ..);
 * + -; * / %; unary minus. Only searched CASE (`CASE WHEN c THEN v ... [ELSE v] END`).
 * Nesting is bounded so a hostile document cannot exhaust the stack.
 */
import type { BinaryOp, Expr } from './ast.ts';
import { ExpressionError } from './error.ts';
import { type Token, tokenize } from './tokenize.ts';

const MAX_DEPTH = 64;
const MAX_LIST = 1000;
const NOT_BP = 25;
const COMPARE_BP = 30;
const UNARY_BP = 60;

const INFIX_BP: Record<string, number> = {
  OR: 10,
  AND: 20,
  '=': COMPARE_BP,
  '==': COMPARE_BP,
  '<>': COMPARE_BP,
  '!=': COMPARE_BP,
  '<': COMPARE_BP,
  '<=': COMPARE_BP,
  '>': COMPARE_BP,
  '>=': COMPARE_BP,
  IS: COMPARE_BP,
  IN: COMPARE_BP,
  BETWEEN: COMPARE_BP,
  '+': 40,
  '-': 40,
  '*': 50,
  '/': 50,
  '%': 50,
};

/** Parse an expression into its syntax tree. Throws ExpressionError with the offset of the first problem. */
export function parseExpression(src: string): Expr {
  const p = new Parser(tokenize(src));
  const e = p.expr(0);
  const t = p.peek();
  if (t.kind !== 'eof') throw new ExpressionError(`unexpected ${describe(t)}`, t.pos);
  return e;
}

function describe(t: Token): string {
  return t.kind === 'eof' ? 'end of expression' : t.kind === 'string' ? 'string' : `'${t.text}'`;
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly tokens: Token[]) {}

  peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }

  private isKeyword(t: Token, text: string): boolean {
    return t.kind === 'keyword' && t.text === text;
  }

  private expect(kind: 'op' | 'keyword', text: string): Token {
    const t = this.next();
    if (t.kind !== kind || t.text !== text)
      throw new ExpressionError(`expected '${text}' but found ${describe(t)}`, t.pos);
    return t;
  }

  private infixBp(t: Token): number {
    if (t.kind === 'keyword' && t.text === 'NOT') {
      const after = this.peek(1);
      return this.isKeyword(after, 'IN') || this.isKeyword(after, 'BETWEEN') ? COMPARE_BP : 0;
    }
    if (t.kind !== 'op' && t.kind !== 'keyword') return 0;
    return INFIX_BP[t.text] ?? 0;
  }

  expr(rbp: number): Expr {
    if (++this.depth > MAX_DEPTH)
      throw new ExpressionError('expression is nested too deeply', this.peek().pos);
    let left = this.prefix();
    for (;;) {
      const t = this.peek();
      const lbp = this.infixBp(t);
      if (lbp <= rbp) break;
      left = this.infix(left, t, lbp);
    }
    this.depth--;
    return left;
  }

  private prefix(): Expr {
    const t = this.next();
    switch (t.kind) {
      case 'number':
        return { kind: 'number', text: t.text, pos: t.pos };
      case 'string':
        return { kind: 'string', value: t.text, pos: t.pos };
      case 'ident':
        if (this.peek().kind === 'op' && this.peek().text === '(') return this.call(t);
        return { kind: 'column', name: t.text, pos: t.pos };
      case 'keyword':
        if (t.text === 'TRUE' || t.text === 'FALSE')
          return { kind: 'bool', value: t.text === 'TRUE', pos: t.pos };
        if (t.text === 'NULL') return { kind: 'null', pos: t.pos };
        if (t.text === 'NOT') return { kind: 'not', operand: this.expr(NOT_BP), pos: t.pos };
        if (t.text === 'CASE') return this.caseExpr(t.pos);
        break;
      case 'op':
        if (t.text === '-') {
          const operand = this.expr(UNARY_BP);
          if (operand.kind === 'number' && !operand.text.startsWith('-'))
            return { kind: 'number', text: `-${operand.text}`, pos: t.pos };
          return { kind: 'neg', operand, pos: t.pos };
        }
        if (t.text === '(') {
          const inner = this.expr(0);
          this.expect('op', ')');
          return inner;
        }
        break;
      default:
        break;
    }
    throw new ExpressionError(`unexpected ${describe(t)}`, t.pos);
  }

  private call(name: Token): Expr {
    this.expect('op', '(');
    const args: Expr[] = [];
    if (!(this.peek().kind === 'op' && this.peek().text === ')')) {
      for (;;) {
        args.push(this.expr(0));
        if (this.peek().kind === 'op' && this.peek().text === ',') {
          this.next();
          continue;
        }
        break;
      }
    }
    this.expect('op', ')');
    return { kind: 'call', name: name.text.toLowerCase(), args, pos: name.pos };
  }

  private caseExpr(pos: number): Expr {
    if (!this.isKeyword(this.peek(), 'WHEN')) {
      throw new ExpressionError(
        'CASE must be followed by WHEN (only CASE WHEN ... is supported)',
        this.peek().pos,
      );
    }
    const whens: { condition: Expr; value: Expr }[] = [];
    while (this.isKeyword(this.peek(), 'WHEN')) {
      this.next();
      const condition = this.expr(0);
      this.expect('keyword', 'THEN');
      whens.push({ condition, value: this.expr(0) });
    }
    let otherwise: Expr | undefined;
    if (this.isKeyword(this.peek(), 'ELSE')) {
      this.next();
      otherwise = this.expr(0);
    }
    this.expect('keyword', 'END');
    return otherwise ? { kind: 'case', whens, otherwise, pos } : { kind: 'case', whens, pos };
  }

  private infix(left: Expr, t: Token, lbp: number): Expr {
    this.next();
    const pos = t.pos;
    if (t.kind === 'keyword') {
      switch (t.text) {
        case 'AND':
        case 'OR':
          return { kind: 'binary', op: t.text, left, right: this.expr(lbp), pos };
        case 'IS': {
          const negated = this.isKeyword(this.peek(), 'NOT');
          if (negated) this.next();
          this.expect('keyword', 'NULL');
          return { kind: 'isNull', operand: left, negated, pos };
        }
        case 'NOT': {
          const op = this.next();
          return op.text === 'IN' ? this.inList(left, true, pos) : this.between(left, true, pos);
        }
        case 'IN':
          return this.inList(left, false, pos);
        case 'BETWEEN':
          return this.between(left, false, pos);
      }
    }
    const op = (t.text === '==' ? '=' : t.text === '!=' ? '<>' : t.text) as BinaryOp;
    return { kind: 'binary', op, left, right: this.expr(lbp), pos };
  }

  private inList(operand: Expr, negated: boolean, pos: number): Expr {
    this.expect('op', '(');
    const list: Expr[] = [];
    for (;;) {
      if (list.length >= MAX_LIST)
        throw new ExpressionError(`IN lists hold at most ${MAX_LIST} items`, this.peek().pos);
      list.push(this.expr(0));
      if (this.peek().kind === 'op' && this.peek().text === ',') {
        this.next();
        continue;
      }
      break;
    }
    this.expect('op', ')');
    return { kind: 'in', operand, list, negated, pos };
  }

  private between(operand: Expr, negated: boolean, pos: number): Expr {
    const low = this.expr(COMPARE_BP);
    this.expect('keyword', 'AND');
    const high = this.expr(COMPARE_BP);
    return { kind: 'between', operand, low, high, negated, pos };
  }
}
