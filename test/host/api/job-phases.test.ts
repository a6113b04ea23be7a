import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { JobPhaseClock, SIGNING_PROGRESS } from '../../../src/host/api/job-phases.ts';

/** The observations of each phase so far: count and summed seconds. */
async function observed(h: Histogram<'phase'>): Promise<Record<string, { count: number; sum: number }>> {
  const out: Record<string, { count: number; sum: number }> = {};
  for (const v of (await h.get()).values) {
    const phase = String(v.labels.phase);
    out[phase] ??= { count: 0, sum: 0 };
    if (v.metricName?.endsWith('_count')) out[phase].count = v.value;
    if (v.metricName?.endsWith('_sum')) out[phase].sum = v.value;
  }
  return out;
}

const histogram = () =>
  new Histogram({
    name: 'phase_seconds',
    help: 'h',
    labelNames: ['phase'] as const,
    registers: [new Registry()],
  });

describe('job phase clock', () => {
  it('splits a job at the enclave starting to sign, once, and times the queue from submission', async () => {
    const h = histogram();
    const clock = new JobPhaseClock(h, new Date(Date.now() - 2000).toISOString());
    clock.progress(0.5);
    clock.progress(SIGNING_PROGRESS);
    clock.progress(1);
    clock.released();
    clock.lap('anchor');
    clock.lap('store');
    const o = await observed(h);
    expect(o.queue?.count).toBe(1);
    expect(o.queue?.sum).toBeGreaterThanOrEqual(1.9);
    for (const phase of ['run', 'sign', 'anchor', 'store']) expect(o[phase]?.count, phase).toBe(1);
  });

  it('counts a job that never says it signs (a federated one) as running until its result is back', async () => {
    const h = histogram();
    const clock = new JobPhaseClock(h, new Date().toISOString());
    clock.progress(0.9);
    clock.released();
    const o = await observed(h);
    expect(o.run?.count).toBe(1);
    expect(o.sign).toBeUndefined();
  });
});
