/**
 * Step kinds this release can run. Kinds of the v1 document that are missing here (derive,
 * join, train, evaluate) parse, but the checker refuses them by name.
 */
import type { StepKind } from '../schema.ts';
import { aggregateStep } from './aggregate.ts';
import { filterStep } from './filter.ts';
import type { StepCompiler } from './types.ts';

/** The compiler of each supported step kind. */
export const STEP_COMPILERS: ReadonlyMap<StepKind, StepCompiler> = new Map<StepKind, StepCompiler>([
  ['filter', filterStep],
  ['aggregate', aggregateStep],
]);

/** Step kinds whose result is one row per input row: never releasable as an output. */
export const ROW_LEVEL_KINDS: ReadonlySet<StepKind> = new Set<StepKind>(['filter', 'derive', 'join']);
