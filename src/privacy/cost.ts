/**
 * The privacy cost of a pipeline: the epsilon and delta of every output with `dp`, summed
 * (basic sequential composition: each output is a separate release over the same rows).
 * Outputs of any kind count, so a DP-SGD `train` output is charged like an aggregate.
 */
import type { PipelineDocument } from '../pipelines/schema.ts';

/** Epsilon and delta spent. */
export interface PrivacyCost {
  epsilon: number;
  delta: number;
}

/** The total cost of `doc`, and the cost of each output step. */
export function privacyCost(doc: PipelineDocument): PrivacyCost & { outputs: Record<string, PrivacyCost> } {
  let epsilon = 0;
  let delta = 0;
  const outputs: Record<string, PrivacyCost> = {};
  for (const [step, out] of Object.entries(doc.outputs)) {
    if (!out.dp) continue;
    outputs[step] = { epsilon: out.dp.epsilon, delta: out.dp.delta ?? 0 };
    epsilon += out.dp.epsilon;
    delta += out.dp.delta ?? 0;
  }
  return { epsilon, delta, outputs };
}
