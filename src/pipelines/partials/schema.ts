/**
 * The serialised form of a partial aggregate (version 1): what one chunk of rows, or one
 * node's datasets, contributes to an aggregate output, in a form that merges exactly (or
 * with a stated error, for quantiles) with other partials of the same output. It holds
 * exact per-group states and the counts of rows behind each group — row-level facts about
 * small groups — so it may travel only sealed between attested enclaves, never released.
 * Parsed with zod at every boundary (partials/codec.ts).
 */
import { z } from 'zod';
import { ColumnTypeSchema } from '../../data/index.ts';

/** Version of the serialised partial. */
export const PARTIAL_VERSION = 1;

/** A group key cell or a state value: what an output cell can hold. */
const ValueSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const Count = z.number().int().min(0);
/** An exact sum: a number, or a decimal string for integer sums beyond 2^53. */
const SumSchema = z.union([z.number(), z.string().regex(/^-?\d+$/)]);

/** The state of one measure in one group. */
export const MeasureStateSchema = z.union([
  z.strictObject({ n: Count }),
  z.strictObject({ n: Count, sum: SumSchema }),
  z.strictObject({ n: Count, mean: z.number(), m2: z.number().min(0) }),
  z.strictObject({ v: ValueSchema }),
  z.strictObject({ counts: z.array(Count) }),
]);
/** The state of one measure in one group. */
export type MeasureState = z.infer<typeof MeasureStateSchema>;

/** How a measure is kept and finished: its kind (after the DP rewrite), type and parameters. */
export const PartialMeasureSchema = z.strictObject({
  name: z.string(),
  kind: z.enum(['count', 'sum', 'mean', 'variance', 'stddev', 'min', 'max', 'histogram', 'quantile']),
  /** The type of the exact value (the plan's column type). */
  type: ColumnTypeSchema,
  /** Sums of integers merge as big integers, exactly. */
  integral: z.boolean().optional(),
  /** Histograms and quantiles: the number of bins. */
  bins: z.number().int().min(1).optional(),
  bounds: z.tuple([z.number(), z.number()]).optional(),
  q: z.number().min(0).max(1).optional(),
});
/** How a measure is kept and finished. */
export type PartialMeasure = z.infer<typeof PartialMeasureSchema>;

/** What partials must agree on to merge: the output, its measures and how it is released. */
export const PartialSpecSchema = z.strictObject({
  /** The pipeline's canonical hash and the output step. */
  pipeline: z.string(),
  step: z.string(),
  groupBy: z.array(z.string()),
  /** The exact measures kept (for a DP output: those of the DP rewrite, planDp). */
  measures: z.array(PartialMeasureSchema),
  /** The released columns, in order. */
  columns: z.array(z.strictObject({ name: z.string(), type: z.string() })),
  /** Measures released as histogram cells (min_group_size per cell). */
  cells: z.array(z.string()),
  /** How many inputs' rows are counted behind each group. */
  inputs: Count,
  /** The DP release plan (dp.ts), when the output is DP. */
  dp: z
    .strictObject({
      step: z.string(),
      mechanism: z.enum(['laplace', 'gaussian']),
      epsilon: z.number(),
      delta: z.number(),
      groupBy: z.array(z.string()),
      measures: z.array(
        z.strictObject({
          name: z.string(),
          kind: z.enum(['count', 'sum', 'mean', 'histogram', 'quantile']),
          bounds: z.tuple([z.number(), z.number()]).optional(),
          q: z.number().optional(),
          hidden: z.array(z.string()),
        }),
      ),
    })
    .optional(),
});
/** What partials must agree on to merge. */
export type PartialSpec = z.infer<typeof PartialSpecSchema>;

/** One group of a partial. */
export const PartialGroupSchema = z.strictObject({
  key: z.array(ValueSchema),
  /** Per input: distinct rows of that input behind the group. */
  rows: z.array(Count),
  /** Per measure of the spec, in order. */
  states: z.array(MeasureStateSchema),
  /** Per measure named in spec.cells, in order: per input, rows behind each cell. */
  cells: z.array(z.array(z.array(Count))),
});
/** One group of a partial. */
export type PartialGroup = z.infer<typeof PartialGroupSchema>;

/** A partial aggregate of one output. */
export const PartialAggregateSchema = z.strictObject({
  obscura_partial: z.literal(PARTIAL_VERSION),
  spec: PartialSpecSchema,
  /** The largest min_group_size any contributor's policy asks (merging keeps the largest). */
  minGroupSize: z.number().int().min(1),
  groups: z.array(PartialGroupSchema),
});
/** A partial aggregate of one output. */
export type PartialAggregate = z.infer<typeof PartialAggregateSchema>;
