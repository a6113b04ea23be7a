/** The sample dataset policies in policies/ validate against the policy schema (src/privacy/policy.ts). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/contracts/measurement.ts';
import { parseDatasetPolicy } from '../src/privacy/index.ts';

const DIR = join(PROJECT_ROOT, 'policies');
const samples = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));

describe('sample policies', () => {
  it('there are samples, each listed in policies/README.md', () => {
    expect(samples.length).toBeGreaterThanOrEqual(4);
    const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
    for (const f of samples) expect(readme, f).toContain(`\`${f}\``);
  });

  it.each(samples)('%s validates', (f) => {
    const policy = parseDatasetPolicy(readFileSync(join(DIR, f), 'utf8'), f);
    expect(policy).toBeDefined();
  });
});
