import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { computeMeasurement, MEASURED_DIRS, measuredFiles, PROJECT_ROOT } from '../../src/enclave/measurement.ts';

const copies: string[] = [];
afterAll(() => {
  for (const c of copies) rmSync(c, { recursive: true, force: true });
});

function copyTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'obscura-measure-'));
  copies.push(dir);
  // Folders with no files yet (not in git) are skipped, as measuredFiles() skips them.
  for (const d of MEASURED_DIRS) if (existsSync(join(PROJECT_ROOT, d))) cpSync(join(PROJECT_ROOT, d), join(dir, d), { recursive: true });
  cpSync(join(PROJECT_ROOT, 'package-lock.json'), join(dir, 'package-lock.json'));
  return dir;
}

describe('enclave measurement', () => {
  it('is reproducible and independent of where the tree lives', () => {
    expect(computeMeasurement()).toMatch(/^[0-9a-f]{64}$/);
    expect(computeMeasurement(copyTree())).toBe(computeMeasurement());
  });

  it('equals what coreutils sha256sum computes over the documented file list', () => {
    const files = measuredFiles().map((f) => f.path);
    const listing = execFileSync('sha256sum', files, { cwd: PROJECT_ROOT });
    const expected = execFileSync('sha256sum', [], { input: listing }).toString().split(' ')[0];
    expect(computeMeasurement()).toBe(expected);
  });

  it('changes when any measured file changes, and not for files outside the enclave', () => {
    const dir = copyTree();
    const before = computeMeasurement(dir);
    writeFileSync(join(dir, 'README.md'), 'not measured');
    expect(computeMeasurement(dir)).toBe(before);
    writeFileSync(join(dir, 'src/enclave/extra.ts'), '// one more line of enclave code\n');
    expect(computeMeasurement(dir)).not.toBe(before);
  });
});
