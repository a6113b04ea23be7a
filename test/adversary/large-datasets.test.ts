/**
 * Attacks on datasets larger than memory and on merged partials:
 * - DuckDB spilling plaintext to disk when a chunk's query outgrows its memory limit (the
 *   enclave's DuckDB has no temp_directory: loading or querying the chunk fails, and no
 *   file appears in the temporary directory or the working directory);
 * - a group isolated in one chunk or one node: min_group_size applies to the merged union
 *   only, so a partial finished on its own never releases a group the union suppresses,
 *   and merging a part twice (a replayed partial) is visible in the counts it adds, never
 *   hidden (the coordinator must count each part once: federation's duty, not this one's).
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { isObscuraError } from '../../src/common/errors.ts';
import { parseDataset } from '../../src/data/index.ts';
import { parsePipeline } from '../../src/pipelines/index.ts';
import { computePartials, finalizePartial, mergePartials } from '../../src/pipelines/partials/index.ts';
import { runStreaming } from '../../src/pipelines/partials/stream.ts';

const DOC = parsePipeline(`obscura: 1
name: wide
inputs: { t: { columns: { id: string, g: string } } }
steps:
  - id: a
    aggregate: { from: t, group_by: [id], measures: { n: { count: "*" } } }
outputs: { a: { min_group_size: 3 } }
`);

function csv(rows: number, prefix: string): Buffer {
  const lines = ['id,g'];
  for (let i = 0; i < rows; i++) lines.push(`${prefix}${i}-${'x'.repeat(40)},g${i % 3}`);
  return Buffer.from(`${lines.join('\n')}\n`);
}

describe('large datasets', () => {
  it('a chunk that outgrows DuckDB memory fails and writes no file', async () => {
    // DuckDB's spill files live in `.tmp` (its default temp_directory) or a `duckdb…` directory; other
    // processes on the machine write their own temporary files meanwhile, so only such names are compared.
    const spill = () =>
      [tmpdir(), process.cwd()].flatMap((d) => readdirSync(d).filter((f) => /duckdb|\.tmp$|^\.tmp/i.test(f)));
    const before = spill();
    const chunk = await parseDataset(csv(300_000, 'p'), 'csv');
    async function* chunks() {
      yield chunk;
    }
    let code = '';
    try {
      await runStreaming(DOC, chunk.schema, chunks(), { memoryLimit: '4MiB' });
    } catch (e) {
      if (!isObscuraError(e)) throw e;
      code = e.code;
    }
    // Loading the chunk or running its query fails (inputs are scanned, not copied, so it is
    // usually the query; which one depends on DuckDB's buffers); neither spills.
    expect(['dataset_load_failed', 'pipeline_execution_failed', 'job_limit_exceeded']).toContain(code);
    expect(spill()).toEqual(before);
  });

  it('a group small in the union is suppressed however the parts were cut', async () => {
    const one = await parseDataset(Buffer.from('id,g\nvictim,a\nvictim,a\n'), 'csv');
    const other = await parseDataset(Buffer.from('id,g\nvictim,a\n'), 'csv');
    const a = (await computePartials(DOC, { t: one })).a;
    const b = (await computePartials(DOC, { t: other })).a;
    if (!a || !b) throw new Error('no partials');
    expect(finalizePartial(a).rows).toEqual([]);
    expect(finalizePartial(mergePartials([a, b])).rows).toEqual([['victim', 3]]);
    // Raising min_group_size at the coordinator holds it back again.
    expect(finalizePartial(mergePartials([a, b]), { minGroupSize: 4 }).rows).toEqual([]);
    // A replayed part adds its rows again: visible in the count, so the coordinator must refuse duplicates.
    expect(finalizePartial(mergePartials([a, a])).rows).toEqual([['victim', 4]]);
  });
});
