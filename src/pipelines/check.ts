/**
 * The checker: everything about a pipeline that can be known without touching data is
 * checked here, before anything runs (the API host runs it on submission, the enclave
 * again before decrypting). In order: step ids, outputs (they must exist and be
 * aggregates), supported features, input bindings, declared columns against the datasets'
 * schemas, then each step (references, columns, types, expressions) through its kind's
 * compiler (steps/registry.ts). Liveness then decides which columns — visible, and the
 * hidden row-id provenance min_group_size needs — each step carries, and each needed
 * step is rendered to SQL.
 */
import { didYouMean } from '../common/did-you-mean.ts';
import { type DatasetSchema, isCompatibleType } from '../data/index.ts';
import { formatPath, pipelineError } from './errors.ts';
import { checkDpOutputs } from './dp.ts';
import { pipelineHash } from './hash.ts';
import { LineageResolver, type PlanLineage } from './lineage.ts';
import { liveColumns } from './liveness.ts';
import { type PipelineDocument, type Step, stepKind } from './schema.ts';
import type { SqlParam } from './sql.ts';
import { inputRowIdColumn, inputTracks } from './steps/provenance.ts';
import { ROW_LEVEL_KINDS, STEP_COMPILERS, UNSUPPORTED_KINDS } from './steps/registry.ts';
import { checkTrainDp } from './steps/train.ts';
import {
  type AnalysedStep,
  isReservedName,
  type PlanColumn,
  type Relation,
  type StepCompiler,
  trackColumns,
} from './steps/types.ts';

export type { PlanColumn } from './steps/types.ts';

/** One step the runner executes: SQL computing relation `table` from earlier relations. */
export interface PlannedStep {
  id: string;
  kind: string;
  table: string;
  /** Internal names of the relations (input tables or earlier steps) its SQL reads. */
  from: string[];
  columns: PlanColumn[];
  groupBy: string[];
  /** Whether DuckDB may compute it on several threads (AnalysedStep.parallel). */
  parallel: boolean;
  /** Aggregates: hidden columns counting each input's distinct rows behind a group. */
  rowCounts: string[];
  /** Aggregates: per histogram column, the hidden lists of each input's distinct rows behind each cell. */
  cells: { measure: string; columns: string[] }[];
  sql: string;
  params: SqlParam[];
}

/** The checked pipeline: what it reads, what it releases and (internal) how to compute it. */
export interface PipelinePlan {
  hash: string;
  /**
   * Every declared input with the columns the outputs depend on (empty when none), and
   * the hidden row-id column to load beside them when provenance needs it.
   */
  inputs: { name: string; table: string; columnsRead: string[]; rowIdColumn?: string }[];
  /**
   * The releasable outputs, in document order, each with its step kind and the inputs whose
   * rows are behind it (every kind: a model's too), and the measures it releases as cells
   * (histograms). An aggregate's group, and each cell, is released only when at least
   * minGroupSize distinct rows of every one of those inputs are behind it.
   */
  outputs: {
    step: string;
    kind: string;
    columns: PlanColumn[];
    minGroupSize: number;
    inputs: string[];
    cells: { measure: string; count: number }[];
  }[];
  /** Which input columns the steps the outputs depend on use, and how (from each compiler's lineage). */
  lineage: PlanLineage;
  /** Steps the outputs depend on, in execution order (internal to the runner). */
  steps: PlannedStep[];
}

/**
 * Check a pipeline against the schemas of the datasets bound to its inputs and plan it.
 * Throws ObscuraError (400) with a stable code: pipeline_duplicate_step,
 * pipeline_unknown_step, pipeline_row_level_output, pipeline_step_unsupported,
 * pipeline_unknown_input, pipeline_schema_mismatch, pipeline_unknown_column,
 * pipeline_type_mismatch, pipeline_expression_invalid or pipeline_invalid; details name
 * the step, field, column and document path.
 */
export function checkPipeline(doc: PipelineDocument, inputs: Record<string, DatasetSchema>): PipelinePlan {
  const stepIndex = checkStructure(doc);
  const relations = bindInputs(doc, inputs);
  const analysed = new Map<string, AnalysedStep>();
  const lineage = new LineageResolver();
  for (const [name, rel] of relations)
    lineage.addInput(
      name,
      rel.columns.map((c) => c.name),
    );
  doc.steps.forEach((step, i) => {
    const result = analyseStep(step, i, stepIndex, relations);
    analysed.set(step.id, result);
    lineage.addStep(step.id, i, stepKind(step), result.lineage);
    relations.set(step.id, {
      name: step.id,
      columns: result.columns,
      aggregate: result.aggregate,
      tracks: result.tracks,
    });
    if (step.train && doc.outputs[step.id]?.dp) checkTrainDp(step, i, result);
  });
  const ids = doc.steps.map((s) => s.id);
  const live = liveColumns(ids, analysed, relations, Object.keys(doc.outputs));

  const tables = new Map<string, string>();
  const planInputs = Object.keys(doc.inputs).map((name, i) => {
    tables.set(name, `input_${i}`);
    const wanted = live.get(name);
    const columnsRead = (relations.get(name) as Relation).columns
      .map((c) => c.name)
      .filter((c) => wanted?.has(c));
    const rowId = inputRowIdColumn(name);
    return wanted?.has(rowId)
      ? { name, table: `input_${i}`, columnsRead, rowIdColumn: rowId }
      : { name, table: `input_${i}`, columnsRead };
  });
  const steps: PlannedStep[] = [];
  doc.steps.forEach((step, i) => {
    const wanted = live.get(step.id);
    if (!wanted) return;
    const a = analysed.get(step.id) as AnalysedStep;
    const columns = a.aggregate ? a.columns : a.columns.filter((c) => wanted.has(c.name));
    const hidden = trackColumns(a.tracks).filter((c) => wanted.has(c));
    const { sql, params } = a.render(
      [...columns.map((c) => c.name), ...hidden],
      (source) => tables.get(source) as string,
    );
    const from = a.sources.map((source) => tables.get(source) as string);
    tables.set(step.id, `step_${i}`);
    const rowCounts = (a.rowCounts ?? []).map((r) => r.column);
    const cells = [...new Set((a.cellCounts ?? []).map((c) => c.measure))].map((measure) => ({
      measure,
      columns: (a.cellCounts ?? []).filter((c) => c.measure === measure).map((c) => c.column),
    }));
    steps.push({
      id: step.id,
      kind: stepKind(step),
      table: `step_${i}`,
      from,
      columns,
      groupBy: a.groupBy,
      parallel: a.parallel,
      rowCounts,
      cells,
      sql,
      params,
    });
  });
  const outputs = Object.entries(doc.outputs).map(([step, out]) => {
    const a = analysed.get(step) as AnalysedStep;
    const kind = stepKind(doc.steps[stepIndex.get(step) as number] as Step);
    return {
      step,
      kind,
      columns: a.columns,
      minGroupSize: out.min_group_size ?? 1,
      inputs: lineage.inputsBehind(step),
      cells: a.lineage.cells ?? [],
    };
  });
  const planLineage = lineage.planLineage(
    steps.map((s) => s.id),
    new Set(outputs.map((o) => o.step)),
  );
  return { hash: pipelineHash(doc), inputs: planInputs, outputs, steps, lineage: planLineage };
}

/**
 * The schemas the document declares for its inputs, as if datasets of exactly those
 * columns and types were bound: what `obscura pipeline check` checks against offline.
 */
export function declaredSchemas(doc: PipelineDocument): Record<string, DatasetSchema> {
  const out: Record<string, DatasetSchema> = {};
  for (const [name, input] of Object.entries(doc.inputs)) {
    out[name] = Object.entries(input.columns).map(([column, type]) => ({ name: column, type }));
  }
  return out;
}

/** Ids, outputs and features, all without the datasets. Returns each step's index by id. */
function checkStructure(doc: PipelineDocument): Map<string, number> {
  const stepIndex = new Map<string, number>();
  doc.steps.forEach((s, i) => {
    const path = formatPath(['steps', i, 'id']);
    if (stepIndex.has(s.id) || Object.hasOwn(doc.inputs, s.id)) {
      const other = stepIndex.has(s.id) ? 'another step' : 'an input';
      throw pipelineError(
        'pipeline_duplicate_step',
        `step id ${s.id} at ${path} is already used by ${other}`,
        { step: s.id, path },
      );
    }
    stepIndex.set(s.id, i);
  });
  for (const [name, out] of Object.entries(doc.outputs)) {
    const i = stepIndex.get(name);
    const path = formatPath(['outputs', name]);
    if (i === undefined)
      throw pipelineError(
        'pipeline_unknown_step',
        `output ${name} names no step${didYouMean(name, stepIndex.keys())}`,
        { step: name, path },
      );
    const kind = stepKind(doc.steps[i] as Step);
    if (ROW_LEVEL_KINDS.has(kind)) {
      const why = `output ${name} is a ${kind} step, whose rows are individual records; only aggregates may leave the enclave`;
      throw pipelineError('pipeline_row_level_output', why, { step: name, path });
    }
    if (out.release !== undefined && kind !== 'train') {
      throw pipelineError('pipeline_invalid', `output ${name}: release applies to train steps only`, {
        step: name,
        path: `${path}.release`,
      });
    }
  }
  doc.steps.forEach((s, i) => {
    if (s.evaluate && stepKind(doc.steps[stepIndex.get(s.evaluate.model) ?? -1] ?? s) !== 'train') {
      const path = formatPath(['steps', i, 'evaluate', 'model']);
      throw pipelineError('pipeline_invalid', `step ${s.id}: model ${s.evaluate.model} is not a train step`, {
        step: s.id,
        field: 'model',
        path,
      });
    }
  });
  checkDpOutputs(doc);
  doc.steps.forEach((s, i) => {
    const kind = stepKind(s);
    if (!STEP_COMPILERS.has(kind)) {
      const why = `step ${s.id} is a ${kind} step, which this release cannot run (${UNSUPPORTED_KINDS.get(kind) ?? 'not supported'})`;
      throw pipelineError('pipeline_step_unsupported', why, {
        step: s.id,
        kind,
        path: formatPath(['steps', i, kind]),
      });
    }
  });
  return stepIndex;
}

/** Each declared input as a relation of its declared columns, with the dataset's actual types. */
function bindInputs(doc: PipelineDocument, inputs: Record<string, DatasetSchema>): Map<string, Relation> {
  // A name given but not declared first: `--input visit=…` for a pipeline that declares
  // `visits` is a typo of the name given, not a missing binding of the declared one.
  const declared = Object.keys(doc.inputs);
  for (const name of Object.keys(inputs)) {
    if (!Object.hasOwn(doc.inputs, name)) {
      throw pipelineError(
        'pipeline_unknown_input',
        `dataset given for input ${name}, which the pipeline does not declare${didYouMean(name, declared)}; it declares ${declared.join(', ')}`,
        { input: name },
      );
    }
  }
  for (const name of declared) {
    if (!Object.hasOwn(inputs, name))
      throw pipelineError('pipeline_unknown_input', `input ${name} is not bound to a dataset`, {
        input: name,
      });
  }
  const relations = new Map<string, Relation>();
  for (const [name, input] of Object.entries(doc.inputs)) {
    const schema = inputs[name] as DatasetSchema;
    const columns = Object.entries(input.columns).map(([column, declared]) => {
      const actual = schema.find((c) => c.name === column);
      const path = formatPath(['inputs', name, 'columns', column]);
      if (isReservedName(column)) {
        throw pipelineError(
          'pipeline_invalid',
          `input ${name} declares column ${column}, whose name is reserved`,
          { input: name, column, path },
        );
      }
      if (!actual) {
        throw pipelineError(
          'pipeline_schema_mismatch',
          // The dataset's column names are its owner-signed schema, public metadata: never data.
          `input ${name} declares column ${column}, which its dataset lacks${didYouMean(
            column,
            schema.map((c) => c.name),
          )}`,
          { input: name, column, path },
        );
      }
      if (!isCompatibleType(declared, actual.type)) {
        const why = `input ${name} declares column ${column} as ${declared}, but the dataset has ${actual.type}`;
        throw pipelineError('pipeline_schema_mismatch', why, {
          input: name,
          column,
          declared,
          actual: actual.type,
          path,
        });
      }
      return { name: column, type: actual.type };
    });
    relations.set(name, { name, columns, aggregate: false, tracks: inputTracks(name) });
  }
  return relations;
}

/** Run the step's compiler; `from` references must name an input or an earlier step. */
function analyseStep(
  step: Step,
  i: number,
  stepIndex: ReadonlyMap<string, number>,
  relations: ReadonlyMap<string, Relation>,
): AnalysedStep {
  const kind = stepKind(step);
  const path = formatPath(['steps', i, kind]);
  return (STEP_COMPILERS.get(kind) as StepCompiler).analyse({
    step,
    id: step.id,
    index: i,
    path,
    relation: (ref, field) => {
      const later = (stepIndex.get(ref) ?? -1) >= i;
      const r = later ? undefined : relations.get(ref);
      if (!r) {
        const earlier = [...relations.keys()].filter((k) => (stepIndex.get(k) ?? -1) < i);
        const why = `step ${step.id}: ${field} ${ref} ${later ? 'is not an earlier step' : `names no input or earlier step${didYouMean(ref, earlier)}`}`;
        throw pipelineError('pipeline_unknown_step', why, {
          step: step.id,
          field,
          ref,
          path: `${path}.${field}`,
        });
      }
      return r;
    },
  });
}
