/**
 * What a step kind must provide to the checker and the runner. Adding a step kind (derive,
 * join, …) means writing one StepCompiler and registering it in registry.ts; the checker,
 * the liveness pass that decides which columns are loaded, and the runner need no change.
 */
import type { ColumnType } from '../../data/index.ts';
import type { Step } from '../schema.ts';
import type { SqlStatement } from '../sql.ts';

/** A named column of a relation. */
export interface PlanColumn {
  name: string;
  type: ColumnType;
}

/** Something a step reads: a pipeline input or an earlier step. */
export interface Relation {
  /** The name the document uses (input name or step id). */
  name: string;
  /** Columns available, in order. */
  columns: PlanColumn[];
  /** True when each row is a group (an aggregate's result) rather than an input row. */
  aggregate: boolean;
}

/** What a step compiler may ask of the checker. */
export interface StepContext {
  /** The step being compiled. */
  step: Step;
  /** Its id and document path (e.g. "steps[2].aggregate"). */
  id: string;
  path: string;
  /** The relation `ref` names (an input or an earlier step); throws pipeline_unknown_step naming `field`. */
  relation(ref: string, field: string): Relation;
}

/** A step after checking: its shape, and how to compute it. */
export interface AnalysedStep {
  /** Relations read, by document name. */
  sources: string[];
  /** Output columns, in order. */
  columns: PlanColumn[];
  /** True when the output is aggregated (one row per group) and so may be released. */
  aggregate: boolean;
  /** Group-by columns of an aggregate (the output's sort key). */
  groupBy: string[];
  /** Columns each source must supply when `live` of this step's columns are needed downstream. */
  needs(live: ReadonlySet<string>): Map<string, Set<string>>;
  /**
   * SQL computing the step from its sources' tables, producing the `live` columns (an
   * aggregate always produces all of its columns plus GROUP_ROWS).
   */
  render(live: readonly string[], table: (source: string) => string): SqlStatement;
}

/** Checks and compiles one step kind. Throws ObscuraError for anything wrong in the step. */
export interface StepCompiler {
  analyse(ctx: StepContext): AnalysedStep;
}

/** The hidden column of aggregate tables counting each group's input rows (for min_group_size). */
export const GROUP_ROWS = '__obscura_group_rows';
