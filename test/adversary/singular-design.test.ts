/**
 * Attack: use an exact fit's numerical failure as an oracle. Exact solvers fail where SGD
 * does not: a least-squares design whose columns are linearly dependent has a singular
 * XᵀX, and Newton's method on separable classes runs off to infinity. An analyst the owner
 * allowed derives a feature that is 1 for one patient if a secret holds (`patient_id = X
 * AND readmitted`) and 0 otherwise: the column is all zeros — the design singular — exactly
 * when the secret is false, and the single 1 separates that patient perfectly when it is
 * true. If the job succeeded in one case and failed in the other, or its failure said
 * "singular matrix", the job's ending would tell whether X was readmitted.
 * The promise it breaks: what a job's failure makes public depends only on the pipeline and
 * the schemas. Dependent columns are dropped (coefficient 0) rather than failing, the
 * logistic objective is L2-penalised (one answer even for separable classes), and any
 * failure after data is read leaves as the one job_data_condition.
 * In-process: the pipeline runner under the enclave's own afterData wrapper.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { afterData } from '../../src/enclave/data-condition.ts';
import { parsePipeline, runPipeline } from '../../src/pipelines/index.ts';
import { sampleVisits, VISITS_PATH } from '../pipelines/fixtures.ts';

const rows = readFileSync(VISITS_PATH, 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split(','));
const readmitted = rows.find((r) => r[4] === 'true' && r[3] !== '')?.[0] as string;
const notReadmitted = rows.find((r) => r[4] === 'false' && r[3] !== '')?.[0] as string;

/** A model of `kind` with the probe feature z and a feature twice another (always dependent). */
const probe = (kind: string, label: string, patient: string) =>
  parsePipeline(`obscura: 1
name: probe-singular
inputs: { visits: { columns: { patient_id: string, age: int64, cost: float64, readmitted: bool } } }
steps:
  - id: kept
    filter: { from: visits, where: "cost IS NOT NULL" }
  - id: probed
    derive: { from: kept, columns: { z: "CASE WHEN patient_id = '${patient}' AND readmitted THEN 1.0 ELSE 0.0 END", twice: "2 * age" } }
  - id: m
    train: { from: probed, model: ${kind}, features: [age, z, twice], label: ${label}, options: { validation_split: 0 } }
outputs: { m: { min_group_size: 10, release: weights } }
`);

/** What the analyst sees of how the job ended, and whether every released number is finite. */
async function ending(kind: string, label: string, patient: string) {
  const visits = await sampleVisits();
  try {
    const out = await afterData(() => runPipeline(probe(kind, label, patient), { visits }));
    const m = out.m;
    const weights = Buffer.from(m?.model?.weights?.weightData ?? '', 'base64');
    const floats = new Float32Array(weights.buffer, weights.byteOffset, weights.length / 4);
    const finite = [...floats, ...(m?.rows ?? []).map((r) => r[1] as number)].every(Number.isFinite);
    return { status: 'succeeded', backend: m?.model?.backend, finite };
  } catch (e) {
    return { status: 'failed', code: (e as { code?: string }).code };
  }
}

describe('a singular design is no oracle', () => {
  for (const [kind, label] of [
    ['linear_regression', 'cost'],
    ['logistic_regression', 'readmitted'],
  ] as const) {
    it(`${kind}: the job ends the same whether the secret holds or not`, async () => {
      const yes = await ending(kind, label, readmitted);
      const no = await ending(kind, label, notReadmitted);
      expect(yes).toEqual(no);
      expect(yes).toEqual({ status: 'succeeded', backend: 'exact', finite: true });
    }, 60_000);
  }
});
