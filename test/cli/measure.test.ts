/**
 * `obscura measure` as a user runs it: the README's coreutils recipe, fed the list
 * `obscura measure --files` prints, gives the value `obscura measure` prints.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeMeasurement, PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import { BIN } from '../helpers/cli.ts';

describe('obscura measure', () => {
  it('is what the README coreutils recipe computes from `obscura measure --files`', () => {
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('**Measurement**'));
    const recipe = /```sh\n([^`]*?)\n```/.exec(section)?.[1];
    expect(recipe).toContain('obscura measure --files');
    const shell = (recipe as string).replaceAll('npx obscura', `${process.execPath} ${BIN}`);
    const byCoreutils = execFileSync('sh', ['-c', shell], { cwd: PROJECT_ROOT }).toString().split(' ')[0];
    const cli = JSON.parse(
      execFileSync(process.execPath, [BIN, 'measure', '--json'], { cwd: PROJECT_ROOT }).toString(),
    ) as {
      measurement: string;
      files: { path: string; sha256: string }[];
    };
    expect(cli.measurement).toBe(computeMeasurement());
    expect(byCoreutils).toBe(cli.measurement);
    // The listing is sha256sum's own format: coreutils checks every line of it.
    const listing = cli.files.map((f) => `${f.sha256}  ${f.path}\n`).join('');
    expect(
      execFileSync('sha256sum', ['--check', '--strict', '--quiet'], {
        cwd: PROJECT_ROOT,
        input: listing,
      }).toString(),
    ).toBe('');
  });
});
