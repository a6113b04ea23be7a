/**
 * `obscura pipeline check|hash`, spawned as a user would from the project root: the hash
 * is the same for a pipeline's YAML and JSON forms whatever the key order; check prints
 * the hash, the columns read per input and each output's columns (also as --json); an
 * invalid document exits 1 with one line naming the problem and its code.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePipeline, pipelineHash } from '../../src/pipelines/index.ts';
import { obscura as run } from '../helpers/cli.ts';
import { examplePipelines } from './fixtures.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

/** Run `obscura …` from the project root; never throws, returns the exit code and output. */
function obscura(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(args, { cwd: ROOT });
}

/** A deep copy with every object's keys in reverse order. */
function reversed(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversed);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .reverse()
        .map(([k, x]) => [k, reversed(x)]),
    );
  return v;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'obscura-cli-pipeline-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('obscura pipeline', () => {
  it('hash: the same for the YAML and a key-reversed JSON form, and the library hash', async () => {
    const text = examplePipelines().get('hba1c-by-region.yaml') as string;
    const json = join(dir, 'hba1c.json');
    writeFileSync(json, JSON.stringify(reversed(parsePipeline(text)), null, 1));
    const [yamlOut, jsonOut] = await Promise.all([
      obscura('pipeline', 'hash', 'pipelines/hba1c-by-region.yaml'),
      obscura('pipeline', 'hash', json),
    ]);
    expect(yamlOut).toEqual({ code: 0, stdout: `${pipelineHash(parsePipeline(text))}\n`, stderr: '' });
    expect(jsonOut.stdout).toBe(yamlOut.stdout);
  });

  it('check: hash, columns read per input and outputs, as text and JSON', async () => {
    const [textOut, jsonOut] = await Promise.all([
      obscura('pipeline', 'check', 'pipelines/hba1c-by-region.yaml'),
      obscura('pipeline', 'check', 'pipelines/ldl-distribution.yaml', '--json'),
    ]);
    expect(textOut.code).toBe(0);
    const lines = textOut.stdout.trim().split('\n');
    expect(lines[0]).toBe('pipelines/hba1c-by-region.yaml: pipeline hba1c-by-region is valid');
    expect(lines[1]).toMatch(/^hash [0-9a-f]{64}$/);
    expect(lines).toContain('input visits reads patient_id, region, age, readmitted');
    expect(lines).toContain('input labs reads patient_id, hba1c');
    expect(lines).toContain(
      '  uses: derive hba1c; join_on patient_id; aggregate patient_id, hba1c; output hba1c',
    );
    expect(lines).toContain('  p90_hba1c float64');
    expect(textOut.stdout).toContain('output by_region');
    expect(textOut.stdout).toContain('10 distinct rows of each of visits, labs');
    const summary = JSON.parse(jsonOut.stdout);
    expect(summary).toMatchObject({
      file: 'pipelines/ldl-distribution.yaml',
      name: 'ldl-distribution',
      inputs: [{ name: 'labs', columnsRead: ['ldl', 'test_date'] }],
      outputs: [
        {
          step: 'by_quarter',
          minGroupSize: 10,
          inputs: ['labs'],
          columns: [
            { name: 'year', type: 'int64' },
            { name: 'quarter', type: 'int64' },
            { name: 'results', type: 'int64' },
            { name: 'ldl_bins', type: 'string' },
            { name: 'mean_ldl', type: 'float64' },
            { name: 'sd_ldl', type: 'float64' },
          ],
        },
      ],
    });
    expect(summary.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('exits 1 with one line naming the problem and its code', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      (examplePipelines().get('hba1c-by-region.yaml') as string).replace(
        'hba1c >= 6.5',
        'hba1c >= 6.5 AND hba1cc > 1',
      ),
    );
    const typo = join(dir, 'typo.yaml');
    writeFileSync(
      typo,
      (examplePipelines().get('cost-by-region.yaml') as string).replace('group_by:', 'group_bye:'),
    );
    const [column, key, missing] = await Promise.all([
      obscura('pipeline', 'check', bad),
      obscura('pipeline', 'hash', typo),
      obscura('pipeline', 'check', join(dir, 'nope.yaml')),
    ]);
    for (const r of [column, key, missing]) {
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(column.stderr).toBe(
      "obscura: step flagged: columns.diabetic_range unknown column 'hba1cc' (did you mean hba1c?) at offset 17 (pipeline_unknown_column)\n",
    );
    expect(key.stderr).toBe(
      'obscura: pipeline is invalid at steps[1].aggregate.group_bye: unknown key (did you mean group_by?) (pipeline_invalid)\n',
    );
    expect(missing.stderr).toMatch(/^obscura: cannot read .*nope\.yaml \(file_unreadable\)\n$/);
  });
});
