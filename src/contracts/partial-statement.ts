/**
 * What a member enclave of a federated job signs in the clear about its share (an
 * aggregate's partial, or its partition of federated training): the job, the analyst's
 * request, the pipeline, the coordinating enclave and the inputs of its share. What it sends
 * stays sealed to the coordinator; this statement, whose signature
 * the coordinator checks and copies into the result, lets an auditor see offline which
 * attested enclave vouched for which dataset of the result, rebuilt from the result alone.
 */
import { canonicalJson } from '../common/hash.ts';
import type { ResultBody } from './result.ts';

/** The fields a member's statement binds. */
export interface PartialStatement {
  job: string;
  /** jobRequestHash of the analyst's signed request. */
  request: string;
  pipeline: string;
  /** The coordinating enclave's signing key. */
  coordinator: string;
  /** The member's own signing key. */
  member: string;
  inputs: ResultBody['inputs'];
}

/** The exact text a member signs (domain-separated, JCS). */
export function partialStatementText(s: PartialStatement): string {
  return `obscura-federated-partial-statement/1\n${canonicalJson({
    job: s.job,
    request: s.request,
    pipeline: s.pipeline,
    coordinator: s.coordinator,
    member: s.member,
    inputs: s.inputs,
  })}`;
}
