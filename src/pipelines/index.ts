/**
 * Pipelines: declarative YAML/JSON documents (docs: pipelines.md, version 1) that are
 * parsed and hashed canonically, checked against the datasets' schemas before anything
 * runs, compiled to parameterised DuckDB SQL, and run inside the enclave so that only
 * aggregates — with small groups suppressed — come out.
 */
export {
  type AggregateStep,
  type DeriveStep,
  type FilterStep,
  type JoinStep,
  MEASURE_KINDS,
  type Measure,
  type MeasureKind,
  MeasureSchema,
  type Output,
  OutputSchema,
  type PipelineDocument,
  PipelineDocumentSchema,
  STEP_KINDS,
  type Step,
  type StepKind,
  StepSchema,
} from './schema.ts';
export { MAX_PIPELINE_TEXT, parsePipeline } from './parse.ts';
export { pipelineHash } from './hash.ts';
export {
  checkPipeline,
  declaredSchemas,
  type PipelinePlan,
  type PlanColumn,
  type PlannedStep,
} from './check.ts';
export { type PipelineOutput, type PipelineOutputs, type RunOptions, runPipeline } from './run.ts';
export { runPipelineOnBytes } from './on-bytes.ts';
export { jobThreads, PARALLEL_THREADS } from './threads.ts';
export type { OutputValue } from './results.ts';
export type { PipelineErrorCode } from './errors.ts';
