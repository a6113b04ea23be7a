/**
 * The verify check of a result's signed job request: the analyst the result names signed
 * it, and it asks for exactly the pipeline, outputs and inputs (dataset ids and manifest
 * hashes) the result was computed from. With the enclave's signature over the whole body,
 * this shows who asked for the result and that the host did not swap what ran.
 */
import type { Check } from '../attestation/verify.ts';
import { isObscuraError } from '../common/errors.ts';
import { outputNames, type ResultBody } from '../contracts/result.ts';
import { assertJobMatchesRequest, jobRequestSignatureValid, purposeHash } from '../privacy/job-request.ts';

/** Check `body.request` against the result body. */
export function jobRequestCheck(body: ResultBody): Check {
  const signed = body.request;
  const r = signed.request;
  const problems: string[] = [];
  if (!jobRequestSignatureValid(signed))
    problems.push(`the request's signature does not verify for analyst ${r.analyst}`);
  if (r.analyst !== body.analyst)
    problems.push(`the request is by ${r.analyst}, the result names analyst ${body.analyst}`);
  try {
    assertJobMatchesRequest(r, {
      pipelineHash: body.pipeline.hash,
      outputs: outputNames(body),
      inputs: body.inputs.map((i) => ({ name: i.name, dataset: i.dataset, manifest: i.manifestHash })),
    });
  } catch (e) {
    if (!isObscuraError(e)) throw e;
    problems.push(e.message);
  }
  return {
    name: 'job request',
    ok: problems.length === 0,
    detail: problems.length
      ? problems.join('; ')
      : `signed by analyst ${r.analyst} on ${r.createdAt} for this pipeline and ${body.inputs.length} input(s); purpose sha256 ${purposeHash(r.purpose).slice(0, 16)}…`,
  };
}
