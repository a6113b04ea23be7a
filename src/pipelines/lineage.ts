/**
 * The pipeline's lineage, resolved to its inputs: each step's compiler states what it
 * reads, for which use, and which of its sources' rows and columns are behind its own
 * (steps/types.ts, StepLineage); this walks those statements down to input columns. The
 * policy checks, the DP rules, the privacy cost and the approvals' column summaries all
 * read the result (`PipelinePlan.lineage` and each output's `inputs`), so a rule about a
 * use holds for every step kind that makes it.
 *
 * A join key computed from no input column (a constant derived column) is refused: it
 * would join every row with every row, and would slip past the owners' `join_on` rules.
 */
import { pipelineError } from './errors.ts';
import type { ColumnUse, SourceColumn, StepLineage } from './steps/types.ts';

/** An input column. */
export interface InputColumn {
  input: string;
  column: string;
}

/** One use a step the outputs depend on makes of an input column. */
export interface InputUse extends InputColumn {
  use: ColumnUse;
  /** The step making it. */
  step: string;
}

/** What the plan reads of its inputs, for which use. */
export interface PlanLineage {
  /** Every use of an input column by a step the outputs depend on (`output` only by outputs), without repeats. */
  uses: InputUse[];
}

/** Resolves step lineage, step by step in document order, to input columns and rows. */
export class LineageResolver {
  private readonly origins = new Map<string, Map<string, InputColumn[]>>();
  private readonly rowInputs = new Map<string, string[]>();
  private readonly stepUses = new Map<string, InputUse[]>();

  /** Register an input and its columns. */
  addInput(name: string, columns: readonly string[]): void {
    this.origins.set(name, new Map(columns.map((c) => [c, [{ input: name, column: c }]])));
    this.rowInputs.set(name, [name]);
  }

  /**
   * Register a checked step. Throws 'pipeline_join_key_constant' naming the step when one of its join
   * keys is computed from no input column on some side.
   */
  addStep(id: string, index: number, kind: string, lineage: StepLineage): void {
    const columns = new Map<string, InputColumn[]>();
    for (const [name, from] of lineage.columns) columns.set(name, this.resolveAll(from));
    this.origins.set(id, columns);
    this.rowInputs.set(id, unique(lineage.rows.flatMap((s) => this.rowInputs.get(s) ?? [])));
    const uses: InputUse[] = [];
    for (const u of lineage.uses) {
      const resolved = this.resolve(u);
      if (u.use === 'join_on' && resolved.length === 0) {
        const path = `steps[${index}].${kind}.on`;
        const why = `step ${id}: join key ${u.column} of ${u.source} is computed from no input column (a constant), so every row would meet every row; join on a column of the data`;
        throw pipelineError('pipeline_join_key_constant', why, {
          step: id,
          field: 'on',
          column: u.column,
          side: u.source,
          path,
        });
      }
      for (const c of resolved) uses.push({ ...c, use: u.use, step: id });
    }
    this.stepUses.set(id, uses);
  }

  /** Inputs whose rows lie behind the rows of relation `name`, in first-seen order. */
  inputsBehind(name: string): string[] {
    return this.rowInputs.get(name) ?? [];
  }

  /** The plan's lineage over the steps `live` (the outputs' dependencies); `output` uses count for `outputs` only. */
  planLineage(live: readonly string[], outputs: ReadonlySet<string>): PlanLineage {
    const seen = new Set<string>();
    const uses: InputUse[] = [];
    for (const id of live) {
      for (const u of this.stepUses.get(id) ?? []) {
        if (u.use === 'output' && !outputs.has(id)) continue;
        const key = `${u.input}\u0000${u.column}\u0000${u.use}`;
        if (seen.has(key)) continue;
        seen.add(key);
        uses.push(u);
      }
    }
    return { uses };
  }

  private resolve(c: SourceColumn): InputColumn[] {
    const rel = this.origins.get(c.source);
    if (!rel) return [];
    return (
      rel.get(c.column) ??
      [...rel.entries()].find(([k]) => k.toLowerCase() === c.column.toLowerCase())?.[1] ??
      []
    );
  }

  private resolveAll(from: readonly SourceColumn[]): InputColumn[] {
    const out: InputColumn[] = [];
    for (const c of from)
      for (const x of this.resolve(c))
        if (!out.some((o) => o.input === x.input && o.column === x.column)) out.push(x);
    return out;
  }
}

/** Which columns of each input a plan uses for each use (every use listed, possibly empty). */
export function usesByInput(
  lineage: PlanLineage,
  inputs: readonly string[],
): Record<string, Record<ColumnUse, string[]>> {
  const out: Record<string, Record<ColumnUse, string[]>> = {};
  for (const input of inputs) out[input] = emptyUses();
  for (const u of lineage.uses) {
    const list = out[u.input]?.[u.use];
    if (list && !list.includes(u.column)) list.push(u.column);
  }
  return out;
}

/** A record of every use with no column. */
export function emptyUses(): Record<ColumnUse, string[]> {
  return {
    filter: [],
    derive: [],
    group_by: [],
    join_on: [],
    aggregate: [],
    feature: [],
    label: [],
    output: [],
  };
}

function unique(xs: readonly string[]): string[] {
  return [...new Set(xs)];
}
