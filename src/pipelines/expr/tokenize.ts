/**
 * Tokenizer of the pipeline expression language. Deliberately small and strict: ASCII
 * identifiers, decimal numbers, single-quoted strings ('' escapes a quote), the operators
 * + - * / % = == != <> < <= > >= ( ) , and ASCII whitespace. Everything else — double
 * quotes, backticks, semicolons, `--` and `/*` comments, `$` and `?` placeholders,
 * non-ASCII characters outside strings (homoglyphs, zero-width and bidi controls) — is an
 * error at its character offset. Keywords are case-insensitive.
 *
 * Written by hand rather than with a parser library: no well-kept library parses exactly
 * this restricted grammar to parameterised SQL, and a general SQL parser would accept
 * far more than we want to allow.
 */
import { ExpressionError } from './error.ts';

/** Reserved words (matched case-insensitively); they cannot be column names in expressions. */
export const KEYWORDS = new Set([
  'AND',
  'OR',
  'NOT',
  'IN',
  'BETWEEN',
  'IS',
  'NULL',
  'TRUE',
  'FALSE',
  'CASE',
  'WHEN',
  'THEN',
  'ELSE',
  'END',
]);

/** A token: its kind, text (keywords upper-cased, strings unescaped) and offset. */
export type Token =
  | { kind: 'ident'; text: string; pos: number }
  | { kind: 'keyword'; text: string; pos: number }
  | { kind: 'number'; text: string; pos: number }
  | { kind: 'string'; text: string; pos: number }
  | { kind: 'op'; text: string; pos: number }
  | { kind: 'eof'; text: ''; pos: number };

const TWO_CHAR_OPS = new Set(['<=', '>=', '<>', '!=', '==']);
const ONE_CHAR_OPS = new Set(['+', '-', '*', '/', '%', '=', '<', '>', '(', ')', ',']);

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}

/** Split an expression into tokens ending with an `eof` token. Throws ExpressionError at the first bad character. */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if (isIdentStart(c)) {
      while (i < src.length && (isIdentStart(src[i] as string) || isDigit(src[i] as string))) i++;
      const text = src.slice(start, i);
      const upper = text.toUpperCase();
      out.push(
        KEYWORDS.has(upper)
          ? { kind: 'keyword', text: upper, pos: start }
          : { kind: 'ident', text, pos: start },
      );
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(src[i + 1] ?? ''))) {
      while (i < src.length && isDigit(src[i] as string)) i++;
      if (src[i] === '.') {
        i++;
        while (i < src.length && isDigit(src[i] as string)) i++;
      }
      if (src[i] === 'e' || src[i] === 'E') {
        let j = i + 1;
        if (src[j] === '+' || src[j] === '-') j++;
        if (!isDigit(src[j] ?? '')) throw new ExpressionError('malformed number', start);
        while (j < src.length && isDigit(src[j] as string)) j++;
        i = j;
      }
      if (i < src.length && (isIdentStart(src[i] as string) || src[i] === '.'))
        throw new ExpressionError('malformed number', start);
      out.push({ kind: 'number', text: src.slice(start, i), pos: start });
      continue;
    }
    if (c === "'") {
      let text = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new ExpressionError('string is not closed', start);
        const ch = src[i] as string;
        if (ch === "'") {
          if (src[i + 1] === "'") {
            text += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        text += ch;
        i++;
      }
      out.push({ kind: 'string', text, pos: start });
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '--' || two === '/*') throw new ExpressionError('comments are not allowed', start);
    if (TWO_CHAR_OPS.has(two)) {
      out.push({ kind: 'op', text: two, pos: start });
      i += 2;
      continue;
    }
    if (ONE_CHAR_OPS.has(c)) {
      out.push({ kind: 'op', text: c, pos: start });
      i++;
      continue;
    }
    const what =
      c === '"'
        ? 'quoted identifiers are not allowed'
        : c === ';'
          ? 'only one expression is allowed'
          : 'unexpected character';
    throw new ExpressionError(what, start);
  }
  out.push({ kind: 'eof', text: '', pos: src.length });
  return out;
}
