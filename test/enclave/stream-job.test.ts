/**
 * How a job reads its inputs, decided from the manifests alone (public): a large CSV input
 * streams when the pipeline is filters, derives and mergeable aggregates; a pipeline that
 * needs its rows in memory (a join, a count_distinct) over inputs beyond their share of the
 * memory limit is refused before anything is read or spent, with the sizes and the reason,
 * never a value.
 */
import { describe, expect, it } from 'vitest';
import { isObscuraError } from '../../src/common/errors.ts';
import type { JobSpec } from '../../src/contracts/enclave-protocol.ts';
import { decryptedBytes } from '../../src/enclave/job-memory.ts';
import { inputMode } from '../../src/enclave/stream-job.ts';
import { parsePipeline } from '../../src/pipelines/index.ts';

const MIB = 1024 * 1024;
const COLUMNS = '{ region: string, k: int64 }';
const schema = [
  { name: 'region', type: 'string' },
  { name: 'k', type: 'int64' },
];

/** A job over inputs of these plaintext sizes, about 20 bytes a row (`north,12345` and a line end). */
function job(sizes: number[], format = 'csv'): JobSpec {
  return {
    id: 'j1',
    inputs: sizes.map((bytes, i) => ({
      name: `t${i}`,
      datasetId: `d${i}`,
      manifest: { manifest: { format, schema, rows: Math.floor(bytes / 20), plaintext: { bytes } } },
    })),
  } as unknown as JobSpec;
}

const one = (bytes: number) => (job([bytes]).inputs[0] as JobSpec['inputs'][number]).manifest.manifest;

function doc(steps: string, inputs = `t0: { columns: ${COLUMNS} }`) {
  return parsePipeline(`obscura: 1\nname: m\ninputs: { ${inputs} }\nsteps:\n${steps}\noutputs: { g: {} }\n`);
}

const AGG = `  - id: g
    aggregate: { from: t0, group_by: [region], measures: { n: { count: "*" }, s: { sum: k } } }`;

function refusal(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    if (isObscuraError(e)) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('input mode', () => {
  it('streams a large CSV through a mergeable aggregate, and reads a small one whole', () => {
    expect(inputMode(job([1000 * MIB]), doc(AGG), 128 * MIB)).toBe('stream');
    expect(inputMode(job([10 * MIB]), doc(AGG), 128 * MIB)).toBe('memory');
  });

  it('refuses a join or a count_distinct over inputs beyond their share of the memory limit, before reading', () => {
    const joined = doc(
      `  - id: j
    join: { left: t0, right: t1, on: [region] }
  - id: g
    aggregate: { from: j, measures: { n: { count: "*" } } }`,
      `t0: { columns: ${COLUMNS} }, t1: { columns: ${COLUMNS} }`,
    );
    const e = refusal(() => inputMode(job([100 * MIB, 100 * MIB]), joined, 128 * MIB));
    expect(e.code).toBe('job_input_too_large');
    expect(e.status).toBe(413);
    expect(e.message).toContain(`t0 (dataset d0): ${decryptedBytes(one(100 * MIB), ['region'])} bytes`);
    expect(e.message).toContain(`${128 * MIB} bytes`);
    expect(e.message).toContain('more than one input');
    expect(e.message).toContain('--job-memory');
    // Two 50 MiB CSVs fitted the limit whole, but not beside DuckDB's working memory.
    expect(refusal(() => inputMode(job([50 * MIB, 50 * MIB]), joined, 128 * MIB)).code).toBe(
      'job_input_too_large',
    );
    expect(inputMode(job([10 * MIB, 10 * MIB]), joined, 128 * MIB)).toBe('memory');
    // The limit the refusal names is enough.
    const needed = (e.details as { neededMemoryBytes: number }).neededMemoryBytes;
    expect(inputMode(job([100 * MIB, 100 * MIB]), joined, needed)).toBe('memory');
    const distinct = doc(`  - id: g
    aggregate: { from: t0, measures: { d: { count_distinct: k } } }`);
    const d = refusal(() => inputMode(job([200 * MIB]), distinct, 128 * MIB));
    expect(d.code).toBe('job_input_too_large');
    expect(d.message).toContain('count_distinct');
  });

  it('refuses a large Parquet input, which cannot stream', () => {
    expect(refusal(() => inputMode(job([200 * MIB], 'parquet'), doc(AGG), 128 * MIB)).message).toContain(
      'not CSV',
    );
  });
});
