import { describe, expect, it } from 'vitest';
import { closest, didYouMean, editDistance } from '../../src/common/did-you-mean.ts';

describe('did you mean', () => {
  it('counts inserts, deletes, substitutions and adjacent swaps as one edit each', () => {
    expect(editDistance('visit', 'visits')).toBe(1);
    expect(editDistance('cots', 'cost')).toBe(1);
    expect(editDistance('rgeion', 'region')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests a close name, never a far one', () => {
    expect(closest('visit', ['patients', 'visits'])).toBe('visits');
    expect(closest('Region', ['region', 'cost'])).toBe('region');
    expect(closest('rn', ['run', 'result'])).toBe('run');
    expect(closest('budget', ['run', 'result'])).toBeUndefined();
    expect(didYouMean('totl', ['n', 'total'])).toBe(' (did you mean total?)');
    expect(didYouMean('xyz', ['total'])).toBe('');
  });
});
