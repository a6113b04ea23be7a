/**
 * The privacy cost of a pipeline: the epsilon and delta of every output with `dp`, summed
 * (basic sequential composition: each output is a separate release over the same rows).
 * Outputs of any kind count, so a DP-SGD `train` output is charged like an aggregate.
 * Each input is charged for the outputs behind which its rows lie, as the plan's lineage
 * says (every output kind has its inputs there); without a plan, every input is charged
 * the whole cost, which is never too little.
 */
import type { PipelinePlan } from '../pipelines/check.ts';
import type { PipelineDocument } from '../pipelines/schema.ts';

/** Epsilon and delta spent. */
export interface PrivacyCost {
  epsilon: number;
  delta: number;
}

/** The total cost of `doc`, the cost of each output step, and (given its plan) what each input is charged. */
export function privacyCost(
  doc: PipelineDocument,
  plan?: PipelinePlan,
): PrivacyCost & { outputs: Record<string, PrivacyCost>; inputs: Record<string, PrivacyCost> } {
  let epsilon = 0;
  let delta = 0;
  const outputs: Record<string, PrivacyCost> = {};
  for (const [step, out] of Object.entries(doc.outputs)) {
    if (!out.dp) continue;
    outputs[step] = { epsilon: out.dp.epsilon, delta: out.dp.delta ?? 0 };
    epsilon += out.dp.epsilon;
    delta += out.dp.delta ?? 0;
  }
  const inputs: Record<string, PrivacyCost> = {};
  for (const name of Object.keys(doc.inputs)) {
    if (!plan) {
      inputs[name] = { epsilon, delta };
      continue;
    }
    const mine = plan.outputs.filter((o) => o.inputs.includes(name)).map((o) => outputs[o.step]);
    inputs[name] = {
      epsilon: mine.reduce((n, c) => n + (c?.epsilon ?? 0), 0),
      delta: mine.reduce((n, c) => n + (c?.delta ?? 0), 0),
    };
  }
  return { epsilon, delta, outputs, inputs };
}
