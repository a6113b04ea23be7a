/**
 * Recognising and converting CSV field values straight from UTF-8 bytes, without making a
 * JS string per field: booleans (`true`/`false`, any case), integers (int64 range),
 * decimal floats (correctly rounded: Clinger's fast path when the mantissa has at most 15
 * digits and the power of ten at most 22, `Number.parseFloat` otherwise) and, in
 * dates.ts, ISO dates and timestamps.
 */

const MINUS = 45;
const PLUS = 43;
const DOT = 46;

/** 1 for `true`, 0 for `false` (ASCII case-insensitive) in `buf[s, e)`, -1 otherwise. */
export function parseBoolBytes(buf: Uint8Array, s: number, e: number): number {
  const n = e - s;
  if (n === 4) {
    return ((buf[s] as number) | 32) === 116 &&
      ((buf[s + 1] as number) | 32) === 114 &&
      ((buf[s + 2] as number) | 32) === 117 &&
      ((buf[s + 3] as number) | 32) === 101
      ? 1
      : -1;
  }
  if (n === 5) {
    return ((buf[s] as number) | 32) === 102 &&
      ((buf[s + 1] as number) | 32) === 97 &&
      ((buf[s + 2] as number) | 32) === 108 &&
      ((buf[s + 3] as number) | 32) === 115 &&
      ((buf[s + 4] as number) | 32) === 101
      ? 0
      : -1;
  }
  return -1;
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const latin1 = new TextDecoder('latin1');

/** The ASCII text of `buf[s, e)`. */
function ascii(buf: Uint8Array, s: number, e: number): string {
  return latin1.decode(buf.subarray(s, e));
}

/**
 * The integer `[+-]?[0-9]+` in `buf[s, e)`: a number when it is a safe integer, a bigint
 * when it is not but fits int64, undefined when it is not an integer in int64 range.
 */
export function parseIntBytes(buf: Uint8Array, s: number, e: number): number | bigint | undefined {
  let p = s;
  const sign = buf[p];
  if (sign === MINUS || sign === PLUS) p++;
  if (p === e) return undefined;
  let v = 0;
  for (let i = p; i < e; i++) {
    const c = (buf[i] as number) - 48;
    if (c < 0 || c > 9) return undefined;
    v = v * 10 + c;
  }
  if (e - p <= 15) return sign === MINUS ? -v : v;
  const big = BigInt(ascii(buf, s, e));
  if (big > INT64_MAX || big < INT64_MIN) return undefined;
  return Number.isSafeInteger(Number(big)) && BigInt(Number(big)) === big ? Number(big) : big;
}

const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];

/**
 * The decimal number `[+-]?(digits[.digits] | .digits)([eE][+-]?digits)?` in `buf[s, e)`,
 * exactly as `Number.parseFloat` would read it; NaN when the syntax does not match
 * (so `NaN`, `Infinity`, hex and empty fields are not numbers).
 */
export function parseFloatBytes(buf: Uint8Array, s: number, e: number): number {
  let p = s;
  const sign = buf[p];
  if (sign === MINUS || sign === PLUS) p++;
  const unsigned = p;
  let mant = 0;
  let sig = 0; // significant digits accumulated into mant
  let intDigits = 0;
  let fracDigits = 0;
  let scale = 0; // power of ten to apply to mant
  while (p < e) {
    const c = (buf[p] as number) - 48;
    if (c < 0 || c > 9) break;
    if (sig > 0 || c !== 0) {
      if (sig < 15) {
        mant = mant * 10 + c;
        sig++;
      } else {
        sig = 99; // too many digits for the fast path
      }
    }
    intDigits++;
    p++;
  }
  if (sig === 99) return slowFloat(buf, s, e);
  if (p < e && buf[p] === DOT) {
    p++;
    while (p < e) {
      const c = (buf[p] as number) - 48;
      if (c < 0 || c > 9) break;
      if (sig > 0 || c !== 0) {
        if (sig < 15) {
          mant = mant * 10 + c;
          sig++;
          scale--;
        } else {
          sig = 99;
        }
      } else {
        scale--;
      }
      fracDigits++;
      p++;
    }
    if (sig === 99) return slowFloat(buf, s, e);
  }
  if (intDigits + fracDigits === 0) return Number.NaN;
  if (p < e && ((buf[p] as number) | 32) === 101) {
    p++;
    let esign = 1;
    if (buf[p] === MINUS || buf[p] === PLUS) {
      if (buf[p] === MINUS) esign = -1;
      p++;
    }
    let ev = 0;
    let edigits = 0;
    while (p < e) {
      const c = (buf[p] as number) - 48;
      if (c < 0 || c > 9) return Number.NaN;
      ev = Math.min(ev * 10 + c, 100000);
      edigits++;
      p++;
    }
    if (edigits === 0) return Number.NaN;
    scale += esign * ev;
  }
  if (p !== e) return Number.NaN;
  let v: number;
  if (mant === 0) v = 0;
  else if (scale === 0) v = mant;
  else if (scale < 0 && scale >= -22) v = mant / (POW10[-scale] as number);
  else if (scale > 0 && scale <= 22) v = mant * (POW10[scale] as number);
  else v = Number.parseFloat(ascii(buf, unsigned, e));
  if (!Number.isFinite(v)) return Number.NaN;
  return sign === MINUS ? -v : v;
}

/** Syntax check of the whole field, then `Number.parseFloat` for exact rounding. */
function slowFloat(buf: Uint8Array, s: number, e: number): number {
  const text = ascii(buf, s, e);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return Number.NaN;
  const v = Number.parseFloat(text);
  return Number.isFinite(v) ? v : Number.NaN;
}
