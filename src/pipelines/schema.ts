/**
 * The pipeline document, version 1 (docs/pipelines.md), as a zod schema.
 * Every step kind and measure of the v1 document is accepted here, even those this
 * release cannot run yet (checkPipeline refuses those by name), so a document written to
 * the v1 page always parses. Objects are strict: an unknown key — a typo such as
 * `bonds:` for `bounds:` — is an error, never silently ignored. The schema has no
 * defaults or transforms, so the parsed document is exactly what was written and its
 * hash (JCS, RFC 8785) does not depend on this code.
 */
import { z } from 'zod';
import { ColumnNameSchema, ColumnTypeSchema } from '../data/index.ts';
import { SOLVERS } from '../ml/solver.ts';

/** Step ids, input names and measure names: identifiers of up to 64 characters. */
export const NameSchema = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_]{0,63}$/,
    'must start with a letter and hold only letters, digits and _ (at most 64)',
  );

/** An expression of the pipeline expression language (see expr/). */
export const ExpressionSchema = z
  .string()
  .min(1, 'expression must not be empty')
  .max(4096, 'expression is longer than 4096 characters');

const BoundsSchema = z
  .tuple([z.number(), z.number()])
  .refine(([lo, hi]) => lo <= hi, 'bounds must be [low, high] with low <= high');

/** The measure kinds of v1; each measure object holds exactly one of these keys. */
export const MEASURE_KINDS = [
  'count',
  'count_distinct',
  'sum',
  'mean',
  'min',
  'max',
  'stddev',
  'variance',
  'quantile',
  'histogram',
] as const;
/** A measure kind. */
export type MeasureKind = (typeof MEASURE_KINDS)[number];

/** One measure of an aggregate: `{ <kind>: column, ...options }`. */
export const MeasureSchema = z
  .strictObject({
    count: z.union([z.literal('*'), ColumnNameSchema]).optional(),
    count_distinct: ColumnNameSchema.optional(),
    sum: ColumnNameSchema.optional(),
    mean: ColumnNameSchema.optional(),
    min: ColumnNameSchema.optional(),
    max: ColumnNameSchema.optional(),
    stddev: ColumnNameSchema.optional(),
    variance: ColumnNameSchema.optional(),
    quantile: ColumnNameSchema.optional(),
    histogram: ColumnNameSchema.optional(),
    /** quantile: which one, in [0, 1]. */
    q: z.number().min(0).max(1).optional(),
    /** histogram: a bin count or explicit edges. */
    bins: z.union([z.number().int().min(1).max(10_000), z.array(z.number()).min(2).max(10_001)]).optional(),
    /** Clamp values to [low, high] before measuring (required where dp applies). */
    bounds: BoundsSchema.optional(),
  })
  .superRefine((m, ctx) => {
    const kinds = MEASURE_KINDS.filter((k) => m[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `a measure needs exactly one of ${MEASURE_KINDS.join(', ')}` });
      return;
    }
    if (m.q !== undefined && kinds[0] !== 'quantile')
      ctx.addIssue({ code: 'custom', path: ['q'], message: 'q applies to quantile only' });
    if (kinds[0] === 'quantile' && m.q === undefined)
      ctx.addIssue({ code: 'custom', path: ['q'], message: 'quantile needs q' });
    if (m.bins !== undefined && kinds[0] !== 'histogram')
      ctx.addIssue({ code: 'custom', path: ['bins'], message: 'bins applies to histogram only' });
    if (m.bounds !== undefined && (kinds[0] === 'count' || kinds[0] === 'count_distinct')) {
      ctx.addIssue({ code: 'custom', path: ['bounds'], message: `bounds do not apply to ${kinds[0]}` });
    }
    if (kinds[0] === 'histogram') histogramIssues(m, ctx);
  });

/** A histogram needs bins: a count with bounds [low, high], low < high; or increasing edges (bounds, if given, the outer edges). */
function histogramIssues(
  m: { bins?: number | number[]; bounds?: [number, number] },
  ctx: z.RefinementCtx,
): void {
  if (m.bins === undefined) {
    ctx.addIssue({ code: 'custom', path: ['bins'], message: 'histogram needs bins' });
  } else if (typeof m.bins === 'number') {
    if (!m.bounds)
      ctx.addIssue({
        code: 'custom',
        path: ['bounds'],
        message: 'a histogram with a bin count needs bounds',
      });
    else if (!(m.bounds[0] < m.bounds[1]))
      ctx.addIssue({ code: 'custom', path: ['bounds'], message: 'histogram bounds must have low < high' });
  } else {
    const edges = m.bins;
    if (edges.some((e, i) => i > 0 && !(e > (edges[i - 1] as number)))) {
      ctx.addIssue({
        code: 'custom',
        path: ['bins'],
        message: 'histogram edges must be strictly increasing',
      });
    } else if (m.bounds && (m.bounds[0] !== edges[0] || m.bounds[1] !== edges[edges.length - 1])) {
      ctx.addIssue({
        code: 'custom',
        path: ['bounds'],
        message: 'histogram bounds must be the first and last edges',
      });
    }
  }
}
/** One measure of an aggregate step. */
export type Measure = z.infer<typeof MeasureSchema>;

/** The kind of a (schema-valid) measure. */
export function measureKind(m: Measure): MeasureKind {
  return MEASURE_KINDS.find((k) => m[k] !== undefined) as MeasureKind;
}

const FilterSchema = z.strictObject({ from: NameSchema, where: ExpressionSchema });
const DeriveSchema = z.strictObject({
  from: NameSchema,
  columns: z
    .record(ColumnNameSchema, ExpressionSchema)
    .refine((c) => Object.keys(c).length > 0, 'derive needs at least one column'),
});
const JoinSchema = z.strictObject({
  left: NameSchema,
  right: NameSchema,
  on: z.array(ColumnNameSchema).min(1).max(16),
  how: z.enum(['inner', 'left']).optional(),
  /** Keep only keys that occur once on each side, so each row meets at most one row (needed under dp). */
  unique: z.boolean().optional(),
});
const AggregateSchema = z.strictObject({
  from: NameSchema,
  group_by: z.array(ColumnNameSchema).max(16).optional(),
  measures: z
    .record(NameSchema, MeasureSchema)
    .refine((m) => Object.keys(m).length > 0, 'aggregate needs at least one measure'),
});
const TrainSchema = z.strictObject({
  from: NameSchema,
  model: z.enum(['linear_regression', 'logistic_regression', 'mlp']),
  features: z.array(ColumnNameSchema).min(1).max(1024),
  label: ColumnNameSchema,
  options: z
    .strictObject({
      epochs: z.number().int().min(1).max(10_000).optional(),
      batch_size: z.number().int().min(1).max(1_000_000).optional(),
      learning_rate: z.number().positive().max(10).optional(),
      validation_split: z.number().min(0).max(0.9).optional(),
      hidden_units: z.array(z.number().int().min(1).max(4096)).max(8).optional(),
      /** mlp: the hidden layers' activation (default relu). */
      activation: z.enum(['relu', 'tanh', 'sigmoid']).optional(),
      seed: z.number().int().optional(),
      /** Early stopping: epochs without a better validation loss before training stops (default 5). */
      patience: z.number().int().min(1).max(10_000).optional(),
      /** Most distinct values a string feature may have to be one-hot encoded (default 32). */
      max_categories: z.number().int().min(1).max(1024).optional(),
      /** DP-SGD (an output with dp): each row's gradient is clipped to this L2 norm (default 1). */
      clip_norm: z.number().positive().max(1000).optional(),
      /** [low, high] of numeric features or a regressor's label: clamped and scaled by these, not by the rows (required under dp). */
      bounds: z.record(ColumnNameSchema, BoundsSchema).optional(),
      /** exact (a direct or Newton solve over all training rows; default for linear and logistic regression without dp) or sgd (TensorFlow.js minibatches; mlp, dp and federated training). */
      solver: z.enum(SOLVERS).optional(),
      /** Federated training (input split across workers): rounds of averaging; epochs are then per round. */
      rounds: z.number().int().min(1).max(1000).optional(),
    })
    .optional(),
});
const EvaluateSchema = z.strictObject({
  model: NameSchema,
  from: NameSchema,
  metrics: z.array(z.string().min(1).max(64)).max(32).optional(),
});

/** The step kinds of v1; each step object holds `id` and exactly one of these keys. */
export const STEP_KINDS = ['filter', 'derive', 'join', 'aggregate', 'train', 'evaluate'] as const;
/** A step kind. */
export type StepKind = (typeof STEP_KINDS)[number];

/** One step: `{ id, <kind>: {...} }`. */
export const StepSchema = z
  .strictObject({
    id: NameSchema,
    filter: FilterSchema.optional(),
    derive: DeriveSchema.optional(),
    join: JoinSchema.optional(),
    aggregate: AggregateSchema.optional(),
    train: TrainSchema.optional(),
    evaluate: EvaluateSchema.optional(),
  })
  .superRefine((s, ctx) => {
    if (STEP_KINDS.filter((k) => s[k] !== undefined).length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `a step needs an id and exactly one of ${STEP_KINDS.join(', ')}`,
      });
    }
  });
/** One pipeline step. */
export type Step = z.infer<typeof StepSchema>;
/** The filter step body. */
export type FilterStep = z.infer<typeof FilterSchema>;
/** The derive step body. */
export type DeriveStep = z.infer<typeof DeriveSchema>;
/** The join step body. */
export type JoinStep = z.infer<typeof JoinSchema>;
/** The aggregate step body. */
export type AggregateStep = z.infer<typeof AggregateSchema>;
/** The train step body. */
export type TrainStep = z.infer<typeof TrainSchema>;
/** The evaluate step body. */
export type EvaluateStep = z.infer<typeof EvaluateSchema>;

/** The kind of a (schema-valid) step. */
export function stepKind(s: Step): StepKind {
  return STEP_KINDS.find((k) => s[k] !== undefined) as StepKind;
}

/** What may leave the enclave from one step. */
export const OutputSchema = z.strictObject({
  /** Groups with fewer input rows than this are suppressed (default 1). */
  min_group_size: z.number().int().min(1).max(1_000_000).optional(),
  /** Differential privacy for this output. */
  dp: z
    .strictObject({
      epsilon: z.number().positive().max(100),
      delta: z.number().min(0).lt(1).optional(),
      /** `laplace` (default; pure epsilon) or `gaussian` (needs delta > 0). */
      mechanism: z.enum(['laplace', 'gaussian']).optional(),
    })
    .optional(),
  /** For train steps: release metrics only, or the weights too. */
  release: z.enum(['metrics', 'weights']).optional(),
});
/** The release rules of one output. */
export type Output = z.infer<typeof OutputSchema>;

/** A pipeline document, version 1. */
export const PipelineDocumentSchema = z.strictObject({
  obscura: z.literal(1),
  name: z.string().min(1).max(128),
  description: z.string().max(4096).optional(),
  /**
   * Who may read the job and its result: `private` (default) the analyst and the inputs'
   * owners; `public` anyone, but only if every input's policy says `results: public` too.
   */
  visibility: z.enum(['private', 'public']).optional(),
  inputs: z
    .record(NameSchema, z.strictObject({ columns: z.record(ColumnNameSchema, ColumnTypeSchema) }))
    .refine((i) => Object.keys(i).length > 0, 'a pipeline needs at least one input'),
  steps: z.array(StepSchema).min(1).max(256),
  outputs: z.record(NameSchema, OutputSchema),
});
/** A parsed pipeline document. */
export type PipelineDocument = z.infer<typeof PipelineDocumentSchema>;
