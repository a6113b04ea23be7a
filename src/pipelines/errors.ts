/**
 * The pipeline error codes and a constructor for them. Every refusal names where in the
 * document it is (a path such as `steps[1].aggregate.measures.mean_cost`) and, where it
 * helps, the step, field and column — never a data value.
 */
import { type HttpStatus, ObscuraError } from '../common/errors.ts';

/** Stable error codes of the pipelines module. */
export type PipelineErrorCode =
  | 'pipeline_invalid'
  | 'pipeline_duplicate_step'
  | 'pipeline_unknown_step'
  | 'pipeline_unknown_input'
  | 'pipeline_schema_mismatch'
  | 'pipeline_unknown_column'
  | 'pipeline_type_mismatch'
  | 'pipeline_expression_invalid'
  | 'pipeline_row_level_output'
  | 'pipeline_step_unsupported'
  | 'pipeline_dp_unsupported'
  | 'pipeline_dp_bounds_required'
  | 'pipeline_join_key_constant'
  | 'pipeline_execution_failed'
  | 'pipeline_partial_unsupported'
  | 'pipeline_partial_mismatch';

/** A pipeline refusal (400 unless given) with structured details. */
export function pipelineError(
  code: PipelineErrorCode,
  message: string,
  details: Record<string, unknown> = {},
  status: HttpStatus = 400,
): ObscuraError {
  return new ObscuraError(code, message, status, details);
}

/** A document path as text: keys joined by dots, indices in brackets (`steps[1].aggregate`). */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}
