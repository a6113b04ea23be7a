/**
 * Step kinds this release can run, each with its compiler. `train` and `evaluate` (the ML
 * steps of the v1 document) parse, but have no compiler yet, so the checker refuses them
 * by name with 'pipeline_step_unsupported'. The ML release adds them here: a StepCompiler
 * whose analysis names its source (its features and label are then live columns, so the
 * liveness pass loads them) and whose output is released as metrics or weights.
 */
import type { StepKind } from '../schema.ts';
import { aggregateStep } from './aggregate.ts';
import { deriveStep } from './derive.ts';
import { filterStep } from './filter.ts';
import { joinStep } from './join.ts';
import type { StepCompiler } from './types.ts';

/** The compiler of each supported step kind. */
export const STEP_COMPILERS: ReadonlyMap<StepKind, StepCompiler> = new Map<StepKind, StepCompiler>([
  ['filter', filterStep],
  ['derive', deriveStep],
  ['join', joinStep],
  ['aggregate', aggregateStep],
]);

/** Step kinds whose result is one row per input row (or per pair of rows): never releasable as an output. */
export const ROW_LEVEL_KINDS: ReadonlySet<StepKind> = new Set<StepKind>(['filter', 'derive', 'join']);

/** Why a kind without a compiler is refused, for the error message. */
export const UNSUPPORTED_KINDS: ReadonlyMap<StepKind, string> = new Map<StepKind, string>([
  ['train', 'model training arrives with the ML release'],
  ['evaluate', 'model evaluation arrives with the ML release'],
]);
