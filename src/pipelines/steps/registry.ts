/**
 * Step kinds this release can run, each with its compiler. `train` and `evaluate` compile
 * to the rows their model needs (steps/train.ts); the runner fits and scores the model
 * (ml-run.ts) and releases its metrics, and its weights where allowed.
 */
import type { StepKind } from '../schema.ts';
import { aggregateStep } from './aggregate.ts';
import { deriveStep } from './derive.ts';
import { filterStep } from './filter.ts';
import { joinStep } from './join.ts';
import { evaluateStep, trainStep } from './train.ts';
import type { StepCompiler } from './types.ts';

/** The compiler of each supported step kind. */
export const STEP_COMPILERS: ReadonlyMap<StepKind, StepCompiler> = new Map<StepKind, StepCompiler>([
  ['filter', filterStep],
  ['derive', deriveStep],
  ['join', joinStep],
  ['aggregate', aggregateStep],
  ['train', trainStep],
  ['evaluate', evaluateStep],
]);

/** Step kinds whose result is one row per input row (or per pair of rows): never releasable as an output. */
export const ROW_LEVEL_KINDS: ReadonlySet<StepKind> = new Set<StepKind>(['filter', 'derive', 'join']);

/** Why a kind without a compiler is refused, for the error message. */
export const UNSUPPORTED_KINDS: ReadonlyMap<StepKind, string> = new Map<StepKind, string>();

/** Step kinds whose output is a model's metrics (and weights), computed outside SQL. */
export const MODEL_KINDS: ReadonlySet<StepKind> = new Set<StepKind>(['train', 'evaluate']);
