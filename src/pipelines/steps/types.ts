/**
 * What a step kind must provide to the checker and the runner. Adding a step kind means
 * writing one StepCompiler and registering it in registry.ts; the checker, the liveness
 * pass that decides which columns are loaded, and the runner need no change.
 *
 * Besides its visible columns, every relation carries hidden provenance columns
 * ("tracks", see provenance.ts) saying which input rows are behind each of its rows, so
 * that min_group_size can count distinct rows of each input behind an output row even
 * after joins. Hidden names start with HIDDEN_PREFIX, which documents may not use.
 */
import type { ColumnType } from '../../data/index.ts';
import type { Step } from '../schema.ts';
import type { SqlStatement } from '../sql.ts';

/** A named column of a relation. */
export interface PlanColumn {
  name: string;
  type: ColumnType;
}

/**
 * One hidden provenance column of a relation, for one input. A `rid` track holds the
 * input's row id on each row (null where a left join found no match); a `set` track — on
 * an aggregate's groups and what is computed from them — holds the list of row ids behind
 * each row (`column`) and its length (`countColumn`). `exact` promises more: for `rid`,
 * every row has a non-null id and no id repeats (so count(*) counts distinct input
 * rows); for `set`, every row has a list and the lists are pairwise disjoint (so the
 * counts can be summed).
 */
export interface Track {
  /** The input (by document name) whose rows are tracked. */
  input: string;
  kind: 'rid' | 'set';
  column: string;
  countColumn?: string;
  exact: boolean;
}

/** Something a step reads: a pipeline input or an earlier step. */
export interface Relation {
  /** The name the document uses (input name or step id). */
  name: string;
  /** Columns available, in order. */
  columns: PlanColumn[];
  /** True when each row is a group (an aggregate's result) rather than an input row. */
  aggregate: boolean;
  /** Hidden provenance columns, at least one per input behind the relation. */
  tracks: Track[];
}

/** What a step compiler may ask of the checker. */
export interface StepContext {
  /** The step being compiled. */
  step: Step;
  /** Its id, position in `steps` and document path (e.g. "steps[2].aggregate"). */
  id: string;
  index: number;
  path: string;
  /** The relation `ref` names (an input or an earlier step); throws pipeline_unknown_step naming `field`. */
  relation(ref: string, field: string): Relation;
}

/**
 * A use a step makes of a column it reads, as owners' policies name them: `filter` (in a
 * where), `derive` (in a derived column's expression), `group_by`, `join_on`, `aggregate`
 * (a measure's column), `feature` and `label` (of a model), and `output` (a value of it
 * leaves the enclave when the step is released: group keys, min/max/quantile, histogram
 * cells, a model's weights). `output` uses count only for steps that are outputs.
 */
export type ColumnUse =
  | 'filter'
  | 'derive'
  | 'group_by'
  | 'join_on'
  | 'aggregate'
  | 'feature'
  | 'label'
  | 'output';

/** Every use, in the order policies and previews list them. */
export const COLUMN_USES: readonly ColumnUse[] = [
  'filter',
  'derive',
  'group_by',
  'join_on',
  'aggregate',
  'feature',
  'label',
  'output',
];

/** A column of one of a step's sources. */
export interface SourceColumn {
  source: string;
  column: string;
}

/**
 * What a step reads and what its result is made of, stated by its compiler: the one
 * lineage that policy checks, DP rules, privacy cost and approvals' summaries read
 * (resolved to input columns by ../lineage.ts).
 */
export interface StepLineage {
  /** Each output column (by name): the source columns its values are computed from (none: a constant). */
  columns: Map<string, SourceColumn[]>;
  /** The uses the step makes of its sources' columns. */
  uses: (SourceColumn & { use: ColumnUse })[];
  /** Sources whose rows lie behind each of its rows (a model's training rows behind its scores, too). */
  rows: string[];
  /** Measures released as cells (histograms): each cell is a group for min_group_size, and owners cap their number. */
  cells?: { measure: string; count: number }[];
}

/** A step after checking: its shape, and how to compute it. */
export interface AnalysedStep {
  /** Relations read, by document name. */
  sources: string[];
  /** Output columns, in order. */
  columns: PlanColumn[];
  /** True when the output is aggregated (one row per group) and so may be released. */
  aggregate: boolean;
  /**
   * Whether DuckDB may compute the step on several threads (pipelines/threads.ts): its rows,
   * as a set, and each of their values bit for bit, are the same whatever order its sources'
   * rows arrive in, so the result stays reproducible, and it builds no table of distinct
   * values, which DuckDB builds per thread (measured at 10M rows: count_distinct took 1.4–2×
   * the CPU on two threads, and failed under a memory limit one thread fitted). Per-row work
   * (filter, derive) and joins may; an aggregate may when every measure is order-free and
   * not distinct (CompiledMeasure) and it counts its rows without DISTINCT (provenance.ts: no
   * join behind it); training, which reads its rows in order, may not.
   */
  parallel: boolean;
  /** Group-by columns of an aggregate (the output's sort key). */
  groupBy: string[];
  /** The step's hidden provenance columns. */
  tracks: Track[];
  /** For an aggregate: the hidden columns counting distinct rows of each input behind a group. */
  rowCounts?: { input: string; column: string }[];
  /** For an aggregate with histograms: per histogram column, the hidden list of distinct input rows behind each cell. */
  cellCounts?: { measure: string; input: string; column: string }[];
  /** What it reads, for which use, and what its rows and columns come from. */
  lineage: StepLineage;
  /**
   * Columns (visible or hidden) each source must supply when `live` of this step's
   * columns are needed downstream.
   */
  needs(live: ReadonlySet<string>): Map<string, Set<string>>;
  /**
   * SQL computing the step from its sources' tables, producing the `live` columns (visible
   * then hidden; an aggregate always produces all its visible columns and row counts).
   */
  render(live: readonly string[], table: (source: string) => string): SqlStatement;
}

/** Checks and compiles one step kind. Throws ObscuraError for anything wrong in the step. */
export interface StepCompiler {
  analyse(ctx: StepContext): AnalysedStep;
}

/** Prefix of hidden column names; no document may name a column with it (any case). */
export const HIDDEN_PREFIX = '__obscura_';

/** True when `name` is reserved for hidden columns. */
export function isReservedName(name: string): boolean {
  return name.toLowerCase().startsWith(HIDDEN_PREFIX);
}

/** Names of all hidden columns of a set of tracks. */
export function trackColumns(tracks: readonly Track[]): string[] {
  return tracks.flatMap((t) => (t.countColumn ? [t.countColumn, t.column] : [t.column]));
}

/** Column lineage of a step that keeps every column of `source` as it is. */
export function passedThrough(source: Relation): Map<string, SourceColumn[]> {
  return new Map(source.columns.map((c) => [c.name, [{ source: source.name, column: c.name }]]));
}
