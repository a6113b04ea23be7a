/**
 * Running `train` and `evaluate` outputs: the rows the checker planned for a step are read
 * out of DuckDB (inside the enclave, into enclave memory), the model is fitted or scored
 * with TensorFlow.js (src/ml), and the output is a table of metrics (`metric`, `value`)
 * with the model's description — backend, encoding, loss curves — and, for
 * `release: weights`, its weights in the TensorFlow.js format with their hash. Every model
 * needs at least min_group_size rows, and one-hot categories rarer than that are left out.
 */
import type { DataColumn, FeatureEncoding } from '../ml/encode.ts';
import type { TrainedModel } from '../ml/train.ts';
import type { ReleasedWeights } from '../ml/weights.ts';
import type { PlanColumn } from './check.ts';
import type { OutputValue } from './results.ts';
import type { PipelineDocument, Step, TrainStep } from './schema.ts';
import type { DpSgdReport } from '../ml/dpsgd.ts';
import { solverOf } from '../ml/solver.ts';

/** What a model output says about its model. */
export interface ModelDescription {
  kind: string;
  task: 'classification' | 'regression';
  backend: string;
  features: string[];
  label: string;
  encoding: FeatureEncoding[];
  epochs: number;
  rows: { train: number; validation: number };
  lossCurve: number[];
  valLossCurve: number[];
  weights?: ReleasedWeights;
  /** Present when the model was trained with DP-SGD. */
  dpSgd?: DpSgdReport;
}

/** The rows of a planned step, read column by column. */
export type ReadRows = (step: string) => Promise<{ columns: PlanColumn[]; values: ArrayLike<unknown>[] }>;

/** Rows as columns (features then label, for a train step). */
export function asColumns(read: { columns: PlanColumn[]; values: ArrayLike<unknown>[] }): DataColumn[] {
  return read.columns.map((c, j) => ({ name: c.name, type: c.type, values: read.values[j] ?? [] }));
}

/** Trains (once per run) the model of train step `id`; with DP-SGD when its output asks for dp. */
export async function trainedModel(
  doc: Pick<PipelineDocument, 'steps' | 'outputs'>,
  id: string,
  minRows: number,
  read: ReadRows,
  cache: Map<string, Promise<TrainedModel & { dpSgd?: DpSgdReport }>>,
  checkpoint?: () => Promise<void>,
): Promise<TrainedModel & { dpSgd?: DpSgdReport }> {
  const steps = doc.steps;
  let p = cache.get(id);
  if (!p) {
    p = (async () => {
      const { trainModel, trainOptionsOf } = await import('../ml/train.ts');
      const body = (steps.find((s) => s.id === id) as Step).train as TrainStep;
      const columns = asColumns(await read(id));
      const common = {
        step: id,
        kind: body.model,
        features: columns.slice(0, -1),
        label: columns[columns.length - 1] as DataColumn,
        minRows,
        options: trainOptionsOf(body.options),
        ...(checkpoint ? { checkpoint } : {}),
      };
      const dp = doc.outputs[id]?.dp;
      if (!dp) {
        if (solverOf(body.model, false, body.options?.solver) === 'sgd') return trainModel(common);
        const { trainExact } = await import('../ml/exact.ts');
        return trainExact(common);
      }
      const { DEFAULT_CLIP_NORM, trainDpSgd } = await import('../ml/dpsgd.ts');
      return trainDpSgd({
        ...common,
        epsilon: dp.epsilon,
        delta: dp.delta ?? 0,
        clipNorm: body.options?.clip_norm ?? DEFAULT_CLIP_NORM,
      });
    })();
    cache.set(id, p);
  }
  return p;
}

const METRIC_COLUMNS = [
  { name: 'metric', type: 'string' },
  { name: 'value', type: 'float64' },
];

function metricRows(metrics: Record<string, number>): OutputValue[][] {
  return Object.entries(metrics).map(([k, v]) => [k, Number.isFinite(v) ? v : null]);
}

/** The released output of a train step. */
export async function trainOutput(
  model: Omit<TrainedModel, 'step'> & { dpSgd?: DpSgdReport },
  release: 'metrics' | 'weights',
  minGroupSize: number,
) {
  const { exportWeights } = await import('../ml/weights.ts');
  const description: ModelDescription = {
    kind: model.kind,
    task: model.task,
    backend: model.backend,
    features: model.features,
    label: model.label,
    encoding: model.encoding,
    epochs: model.epochs,
    rows: model.rows,
    lossCurve: model.lossCurve,
    valLossCurve: model.valLossCurve,
    ...(release === 'weights' ? { weights: await exportWeights(model.model) } : {}),
    ...(model.dpSgd ? { dpSgd: model.dpSgd } : {}),
  };
  return {
    columns: METRIC_COLUMNS,
    rows: metricRows({
      ...model.metrics,
      epochs: model.epochs,
      rows_train: model.rows.train,
      rows_validation: model.rows.validation,
    }),
    suppressedGroups: 0,
    minGroupSize,
    model: description,
  };
}

/** The released output of an evaluate step: the trained model's metrics on its rows. */
export async function evaluateOutput(
  doc: Pick<PipelineDocument, 'steps' | 'outputs'>,
  id: string,
  minGroupSize: number,
  read: ReadRows,
  cache: Map<string, Promise<TrainedModel>>,
  checkpoint?: () => Promise<void>,
) {
  const step = doc.steps.find((s) => s.id === id) as Step;
  const body = step.evaluate as NonNullable<Step['evaluate']>;
  const model = await trainedModel(doc, body.model, minGroupSize, read, cache, checkpoint);
  const columns = asColumns(await read(id));
  const { ObscuraError } = await import('../common/errors.ts');
  const n = columns[0]?.values.length ?? 0;
  if (n < minGroupSize)
    throw new ObscuraError(
      'ml_too_few_rows',
      `step ${id}: too few rows to evaluate on (fewer than min_group_size)`,
      422,
      { step: id },
    );
  const { scoreModel } = await import('../ml/train.ts');
  const all = scoreModel(model, columns.slice(0, -1), columns[columns.length - 1] as DataColumn, id);
  const wanted = body.metrics?.length
    ? Object.fromEntries(Object.entries(all).filter(([k]) => body.metrics?.includes(k)))
    : all;
  return {
    columns: METRIC_COLUMNS,
    rows: metricRows({ ...wanted, rows: n }),
    suppressedGroups: 0,
    minGroupSize,
  };
}
