import { describe, expect, it } from 'vitest';
import { formatNumber } from '../../src/common/format-number.ts';

describe('formatNumber', () => {
  it('drops the float tail of decimal sums, and nothing else', () => {
    expect(formatNumber(357102.3200000001)).toBe('357102.32');
    expect(formatNumber(0.1 + 0.2)).toBe('0.3');
    expect(formatNumber(2.5 - 0.1 * 3)).toBe('2.2');
    expect(formatNumber(1234567.891)).toBe('1234567.891');
    expect(formatNumber(42)).toBe('42');
    expect(formatNumber(-0.000123456789012345)).toBe('-0.000123456789012345');
    expect(formatNumber(Number.NaN)).toBe('NaN');
  });
});
