/**
 * Exact budget arithmetic: epsilon and delta are counted in integer units (10⁻¹² epsilon,
 * 10⁻¹⁸ delta) as bigints, so a thousand spends of 0.001 add up to exactly 1 and a budget
 * can never drift below zero through floating-point error. Amounts are rounded up when
 * charged and totals down, so rounding always errs on the owner's side.
 */

/** A dataset's totals from its policy (undefined: no limit). */
export interface BudgetTotals {
  epsilon?: number;
  delta?: number;
}

const SCALE = { epsilon: 12, delta: 18 } as const;

function scaled(kind: 'epsilon' | 'delta', value: number, round: 'up' | 'down'): bigint {
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`${kind} must be a finite non-negative number`);
  // Through the shortest decimal form of the double, so 0.1 is exactly 10^11 units.
  const [mantissa = '0', exp = '0'] = value.toExponential().split('e');
  const [int = '0', frac = ''] = mantissa.split('.');
  const shift = Number(exp) + SCALE[kind] - frac.length;
  const digits = BigInt(int + frac);
  if (shift >= 0) return digits * 10n ** BigInt(shift);
  const div = 10n ** BigInt(-shift);
  const q = digits / div;
  return round === 'up' && q * div !== digits ? q + 1n : q;
}

/** An amount to charge, in units (rounded up). */
export function budgetUnits(kind: 'epsilon' | 'delta', value: number): bigint {
  return scaled(kind, value, 'up');
}

/** What is left of `total` after `spent` units (never negative). */
export function remainingOf(kind: 'epsilon' | 'delta', total: number, spent: bigint): bigint {
  const left = scaled(kind, total, 'down') - spent;
  return left > 0n ? left : 0n;
}

/** Units back to a number, for display. */
export function unitsToNumber(kind: 'epsilon' | 'delta', units: bigint): number {
  return Number(units) / 10 ** SCALE[kind];
}
