/**
 * How many multiples of the curve's base point the sr25519 code precomputes (sr25519.ts).
 * @noble/curves builds a table for a window of 8 bits on the first base-point multiplication
 * (4,224 points): right for a server that signs and verifies all day, but the first key a
 * process loads then costs ~60 CPU-ms more than with a 4-bit window (520 points), which is
 * what a short-lived CLI process pays for every call (measured: loading a key, signing and
 * verifying once, 97 → 32 CPU-ms). Later multiplications with the smaller table take twice
 * the point additions, microseconds each, nothing for a handful of signatures.
 */

let window = 8;

/** Ask for the small table; call before the first key is loaded (the CLI does, for its short commands). */
export function preferSmallBaseTable(): void {
  window = 4;
}

/** The window, in bits, that sr25519.ts gives the base point's table. */
export function baseTableWindow(): number {
  return window;
}
