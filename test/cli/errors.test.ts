/**
 * How the CLI fails: one line a person can act on, or under --json one problem document a
 * program can parse; and a mistyped address is refused where it is typed, before anything
 * is attested or sealed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProblemSchema } from '../../src/contracts/problem.ts';
import { obscura } from '../helpers/cli.ts';

const work = mkdtempSync(join(tmpdir(), 'obscura-cli-errors-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// No server runs: a command that got as far as the network would fail as api_unreachable.
const SEAL = [
  'seal',
  'datasets/visits.csv',
  '--worker',
  'worker-1',
  '--key',
  'none.key',
  '--out',
  join(work, 'x.sealed'),
  '--api',
  'http://127.0.0.1:9',
];

describe('CLI failures', () => {
  it('refuses an --allow that is not an address, naming it, before sealing', async () => {
    const r = await obscura([...SEAL, '--allow', 'bob'], { cwd: process.cwd() });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--allow bob is not an ss58 account address.*\(analyst_address_invalid\)/);
    // A valid address with one character changed fails its checksum.
    const typo = await obscura([...SEAL, '--allow', '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694tz'], {
      cwd: process.cwd(),
    });
    expect(typo.stderr).toMatch(/\(analyst_address_invalid\)/);
  });

  it('passes a good address on to the next check', async () => {
    const r = await obscura([...SEAL, '--allow', '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty'], {
      cwd: process.cwd(),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\(key_file_invalid\)/);
  });

  it('prints a problem document under --json', async () => {
    const r = await obscura([...SEAL, '--allow', 'bob', '--json'], { cwd: process.cwd() });
    expect(r.code).toBe(1);
    const problem = ProblemSchema.parse(JSON.parse(r.stderr));
    expect(problem).toMatchObject({ code: 'analyst_address_invalid', status: 400, title: 'Bad Request' });
    expect(problem.detail).toContain('--allow bob');
  });
});
