/**
 * Numbers as a person reads them. Results are computed in binary floating point, so a sum of
 * decimal amounts comes out as 357102.3200000001; shown to people (CSV tables, budgets,
 * privacy costs) every number is rounded to 15 significant digits, the most a double holds
 * exactly for any decimal input, which removes such tails and never changes a value that
 * was written with 15 digits or fewer. Machine output (`--json`, the signed result) keeps
 * the exact values the enclave signed.
 */

/** `n` rounded to 15 significant digits, without trailing zeros or a float tail. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n) || Number.isInteger(n)) return String(n);
  return String(Number(n.toPrecision(15)));
}
