/**
 * Running a job inside the enclave: open every input (see datasets.ts), enforce who may
 * run it, check the pipeline against the inputs' schemas, run it on DuckDB, and sign the
 * aggregate result. The host already checked most of this; the enclave checks again
 * because the host is untrusted.
 */
import type { TeeKind } from '../attestation/providers/provider.ts';
import { ObscuraError } from '../common/errors.ts';
import { assertManifestSignature } from '../crypto/manifest.ts';
import { checkPipeline, parsePipeline, pipelineHash, runPipeline } from '../pipelines/index.ts';
import type { ParsedDataset } from '../data/index.ts';
import { applyLimits, enforcePolicies } from '../privacy/enforce.ts';
import { type OpenContext, type OpenedDataset, openSealedInput } from './datasets.ts';
import type { JobSpec } from './protocol.ts';
import { type ResultBody, type SignedResult, signResult } from './result.ts';

/** The enclave's identity as a job needs it. */
export interface JobContext extends OpenContext {
  workerId: string;
  tee: TeeKind;
  signingKey: string;
  signingSeed: Uint8Array;
}

/** Reports progress as a fraction in [0, 1] with a short message free of data. */
export type Progress = (fraction: number, message: string) => void;

/** Run a job and sign its result. Throws ObscuraError for every refusal or failure. */
export async function runJob(
  job: JobSpec,
  ctx: JobContext,
  progress: Progress,
  onOpened: (opened: OpenedDataset[]) => void = () => {},
): Promise<SignedResult> {
  const doc = parsePipeline(job.pipeline);
  const hash = pipelineHash(doc);
  // Before anything is decrypted: the owners' signatures, who may run it, and their dataset
  // policies, checked against the plan over the owner-signed schemas (the host is untrusted).
  for (const input of job.inputs) {
    const { manifest } = input.manifest;
    assertManifestSignature(input.manifest);
    if (!manifest.analysts.includes('*') && !manifest.analysts.includes(job.analyst)) {
      throw new ObscuraError('analyst_not_allowed', `analyst ${job.analyst} is not allowed to use dataset ${input.datasetId}`, 403);
    }
  }
  const signedPlan = checkPipeline(doc, Object.fromEntries(job.inputs.map((input) => [input.name, input.manifest.manifest.schema])));
  const policyInputs = job.inputs.map((input) => ({ name: input.name, manifest: input.manifest.manifest }));
  const limits = enforcePolicies(signedPlan, policyInputs, { analyst: job.analyst, pipelineHash: hash, now: new Date(), doc });
  const opened: OpenedDataset[] = [];
  for (const [i, input] of job.inputs.entries()) {
    progress((0.5 * i) / job.inputs.length, `opening input ${input.name}`);
    opened.push(await openSealedInput(input, ctx));
  }
  onOpened(opened);
  const byName: Record<string, ParsedDataset> = {};
  job.inputs.forEach((input, i) => {
    byName[input.name] = (opened[i] as OpenedDataset).data;
  });
  checkPipeline(
    doc,
    Object.fromEntries(Object.entries(byName).map(([name, d]) => [name, d.schema])),
  );
  progress(0.5, 'running pipeline');
  // Each output's min_group_size raised to the strictest of the pipeline's and the policies'.
  const outputs = await runPipeline(applyLimits(doc, limits), byName, {
    onProgress: (f, message) => progress(0.5 + 0.4 * f, message),
  });
  progress(0.95, 'signing result');
  const body: ResultBody = {
    obscura: 'result/1',
    job: job.id,
    analyst: job.analyst,
    pipeline: { name: doc.name, hash },
    inputs: job.inputs.map((input, i) => {
      const o = opened[i] as OpenedDataset;
      return {
        name: input.name,
        dataset: input.datasetId,
        owner: o.manifest.manifest.owner,
        manifestHash: o.manifestHash,
        plaintextSha256: o.manifest.manifest.plaintext.sha256,
        ciphertextSha256: o.manifest.manifest.ciphertext.sha256,
        rows: o.data.rows,
      };
    }),
    outputs,
    enclave: {
      worker: ctx.workerId,
      tee: ctx.tee,
      simulated: ctx.tee === 'simulated',
      measurement: ctx.measurement,
      signingKey: ctx.signingKey,
    },
    createdAt: new Date().toISOString(),
  };
  return signResult(body, ctx.signingSeed);
}
