/**
 * Which solver fits a train step: the one rule that the checker (which refuses an
 * impossible choice before any data is read) and the runner (which dispatches) share.
 * `exact` (exact.ts) is a direct or Newton solve over the whole training split, for linear
 * and logistic regression; `sgd` is minibatch training with TensorFlow.js (train.ts), and
 * the only way to train an MLP, a DP-SGD model (dpsgd.ts) or a federated model.
 */

/** The solvers a train step may name in `options.solver`. */
export const SOLVERS = ['exact', 'sgd'] as const;
/** A solver. */
export type Solver = (typeof SOLVERS)[number];

/** Why `solver` cannot train this step, or undefined if it can. */
export function solverRefusal(
  model: 'linear_regression' | 'logistic_regression' | 'mlp',
  dp: boolean,
  solver: Solver | undefined,
): 'mlp' | 'dp' | undefined {
  if (solver !== 'exact') return undefined;
  if (model === 'mlp') return 'mlp';
  if (dp) return 'dp';
  return undefined;
}

/** The solver of a train step: its `options.solver`, else exact for linear and logistic regression without DP, else sgd. */
export function solverOf(
  model: 'linear_regression' | 'logistic_regression' | 'mlp',
  dp: boolean,
  solver: Solver | undefined,
): Solver {
  if (solver) return solver;
  return model !== 'mlp' && !dp ? 'exact' : 'sgd';
}
