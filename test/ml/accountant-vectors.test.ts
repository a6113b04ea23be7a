/**
 * The DP-SGD accountant (src/ml/accountant.ts) against TensorFlow Privacy's published test
 * vectors (tensorflow_privacy/privacy/analysis/rdp_accountant_test.py): compute_rdp of the
 * sampled Gaussian mechanism at integer orders, and get_privacy_spent with the classic
 * conversion ε = RDP(α) + log(1/δ)/(α − 1) that this accountant uses. These vectors are
 * independent of Obscura's code: they come from TF Privacy's own tests.
 */
import { describe, expect, it } from 'vitest';
import { dpSgdEpsilon, rdpStep } from '../../src/ml/accountant.ts';

describe('RDP accountant against TF Privacy rdp_accountant_test.py', () => {
  it('compute_rdp(q=0.1, σ=2, steps=10, order 5) = 0.07737', () => {
    expect(10 * rdpStep(0.1, 2, 5)).toBeCloseTo(0.07737, 5);
  });

  it('compute_rdp(q=0.01, σ=2.5, steps=50) at orders 5, 50, 100 = 0.00218075, 0.023846, 167.416307', () => {
    expect(50 * rdpStep(0.01, 2.5, 5)).toBeCloseTo(0.00218075, 5);
    expect(50 * rdpStep(0.01, 2.5, 50)).toBeCloseTo(0.023846, 5);
    expect(50 * rdpStep(0.01, 2.5, 100)).toBeCloseTo(167.416307, 4);
  });

  it('no data spends nothing; no sampling is the Gaussian mechanism (compute_rdp(1, 10, 1, 20) = 0.1)', () => {
    expect(rdpStep(0, 10, 20)).toBe(0);
    expect(rdpStep(1, 10, 20)).toBeCloseTo(0.1, 12);
  });

  it('get_privacy_spent over orders 2..32 of compute_rdp(0.01, 4, 10000) at δ = 1e-5 is ε = 1.258575 at order 20', () => {
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const { epsilon, order } = dpSgdEpsilon(0.01, 4, 10_000, 1e-5, orders);
    expect(epsilon).toBeCloseTo(1.258575, 5);
    expect(order).toBe(20);
  });
});
