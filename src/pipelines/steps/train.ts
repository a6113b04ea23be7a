/**
 * The `train` and `evaluate` steps (the model is fitted with TensorFlow.js by the runner,
 * see ../ml-run.ts). To the checker both are row-level relations of the columns a model
 * needs — a train step's features then its label, read from `from`; an evaluate step's the
 * same columns of the trained step, read from its own `from` — so liveness loads exactly
 * those columns and the planner computes the rows; what leaves the enclave is the model's
 * metrics (and its weights where released), never these rows.
 */
import { type ColumnType, isNumericType, quoteIdent } from '../../data/index.ts';
import { didYouMean } from '../../common/did-you-mean.ts';
import { solverRefusal } from '../../ml/solver.ts';
import { pipelineError } from '../errors.ts';
import type { Step } from '../schema.ts';
import type {
  AnalysedStep,
  ColumnUse,
  PlanColumn,
  Relation,
  StepCompiler,
  StepContext,
  StepLineage,
} from './types.ts';

/** Metric names a model result may carry, in lower snake case. */
export const MODEL_METRICS = ['auc', 'accuracy', 'log_loss', 'rmse', 'mae', 'r2'] as const;

const FEATURE_TYPES: ReadonlySet<ColumnType> = new Set<ColumnType>([
  'int32',
  'int64',
  'float64',
  'bool',
  'string',
]);

function column(ctx: StepContext, rel: Relation, name: string, field: string, path: string): PlanColumn {
  const c = rel.columns.find((x) => x.name === name);
  if (!c) {
    throw pipelineError(
      'pipeline_unknown_column',
      `step ${ctx.id}: ${field} names column ${name}, which ${rel.name} does not have${didYouMean(
        name,
        rel.columns.map((c) => c.name),
      )}`,
      {
        step: ctx.id,
        field,
        column: name,
        path,
      },
    );
  }
  return c;
}

function rowsOf(source: Relation, columns: PlanColumn[]): Pick<AnalysedStep, 'needs' | 'render'> {
  return {
    needs: () => new Map([[source.name, new Set(columns.map((c) => c.name))]]),
    render: (_live, table) => ({
      sql: `SELECT ${columns.map((c) => quoteIdent(c.name)).join(', ')} FROM ${quoteIdent(table(source.name))}`,
      params: [],
    }),
  };
}

/**
 * A model's lineage: features then label, each read from `source`; a released model also
 * outputs them (its weights, and a string feature's vocabulary, carry their values).
 */
function modelLineage(
  source: Relation,
  columns: PlanColumn[],
  released: boolean,
  rows: string[],
): StepLineage {
  const uses = columns.flatMap((c, i) => {
    const use: ColumnUse = i === columns.length - 1 ? 'label' : 'feature';
    const read = { source: source.name, column: c.name };
    return released
      ? [
          { use, ...read },
          { use: 'output' as const, ...read },
        ]
      : [{ use, ...read }];
  });
  return {
    columns: new Map(columns.map((c) => [c.name, [{ source: source.name, column: c.name }]])),
    uses,
    rows,
  };
}

/** Compiler of train steps. */
export const trainStep: StepCompiler = {
  analyse(ctx: StepContext): AnalysedStep {
    const body = ctx.step.train;
    if (!body) throw new Error('not a train step');
    const source = ctx.relation(body.from, 'from');
    const seen = new Set<string>();
    const features = body.features.map((name, i) => {
      const path = `${ctx.path}.features[${i}]`;
      const c = column(ctx, source, name, 'features', path);
      if (seen.has(name))
        throw pipelineError('pipeline_invalid', `step ${ctx.id}: feature ${name} is listed twice`, {
          step: ctx.id,
          column: name,
          path,
        });
      seen.add(name);
      if (!FEATURE_TYPES.has(c.type)) {
        throw pipelineError(
          'pipeline_type_mismatch',
          `step ${ctx.id}: feature ${name} is ${c.type}; features must be numbers, booleans or strings`,
          {
            step: ctx.id,
            column: name,
            type: c.type,
            path,
          },
        );
      }
      return c;
    });
    const label = column(ctx, source, body.label, 'label', `${ctx.path}.label`);
    if (seen.has(label.name)) {
      throw pipelineError('pipeline_invalid', `step ${ctx.id}: the label ${label.name} is also a feature`, {
        step: ctx.id,
        column: label.name,
        path: `${ctx.path}.label`,
      });
    }
    const labelOk =
      body.model === 'linear_regression'
        ? isNumericType(label.type)
        : label.type === 'bool' || isNumericType(label.type);
    if (!labelOk) {
      const want = body.model === 'linear_regression' ? 'a number' : 'a boolean or a number';
      throw pipelineError(
        'pipeline_type_mismatch',
        `step ${ctx.id}: label ${label.name} is ${label.type}; ${body.model} needs ${want}`,
        {
          step: ctx.id,
          column: label.name,
          type: label.type,
          path: `${ctx.path}.label`,
        },
      );
    }
    if (body.options?.hidden_units && body.model !== 'mlp') {
      throw pipelineError('pipeline_invalid', `step ${ctx.id}: hidden_units applies to mlp only`, {
        step: ctx.id,
        path: `${ctx.path}.options.hidden_units`,
      });
    }
    if (solverRefusal(body.model, false, body.options?.solver) === 'mlp') {
      throw pipelineError(
        'pipeline_invalid',
        `step ${ctx.id}: solver exact fits linear and logistic regression, not mlp`,
        {
          step: ctx.id,
          path: `${ctx.path}.options.solver`,
        },
      );
    }
    const columns = [...features, label];
    for (const [name, [lo, hi]] of Object.entries(body.options?.bounds ?? {})) {
      const path = `${ctx.path}.options.bounds.${name}`;
      const c = columns.find((x) => x.name === name);
      if (!c || !isNumericType(c.type)) {
        const why = c
          ? `is ${c.type}; bounds apply to numeric columns`
          : 'is neither a feature nor the label';
        throw pipelineError('pipeline_invalid', `step ${ctx.id}: bounds name column ${name}, which ${why}`, {
          step: ctx.id,
          column: name,
          path,
        });
      }
      if (!(lo < hi))
        throw pipelineError('pipeline_invalid', `step ${ctx.id}: bounds of ${name} must have low < high`, {
          step: ctx.id,
          column: name,
          path,
        });
    }
    return {
      sources: [source.name],
      columns,
      aggregate: false,
      // A model is fitted (and scored) on its rows in the order they are read.
      parallel: false,
      groupBy: [],
      tracks: source.tracks,
      lineage: modelLineage(source, columns, true, [source.name]),
      ...rowsOf(source, columns),
    };
  },
};

/** Compiler of evaluate steps: `model` must name a train step (checked with the document's structure). */
export const evaluateStep: StepCompiler = {
  analyse(ctx: StepContext): AnalysedStep {
    const body = ctx.step.evaluate;
    if (!body) throw new Error('not an evaluate step');
    const model = ctx.relation(body.model, 'model');
    const source = ctx.relation(body.from, 'from');
    const columns = model.columns.map((m) => {
      const c = column(ctx, source, m.name, 'from', `${ctx.path}.from`);
      const compatible = c.type === m.type || (isNumericType(c.type) && isNumericType(m.type));
      if (!compatible) {
        throw pipelineError(
          'pipeline_type_mismatch',
          `step ${ctx.id}: column ${m.name} is ${c.type} in ${source.name} but ${m.type} where ${model.name} was trained`,
          {
            step: ctx.id,
            column: m.name,
            path: `${ctx.path}.from`,
          },
        );
      }
      return c;
    });
    for (const [i, metric] of (body.metrics ?? []).entries()) {
      if (!(MODEL_METRICS as readonly string[]).includes(metric)) {
        throw pipelineError(
          'pipeline_invalid',
          `step ${ctx.id}: unknown metric ${metric} (known: ${MODEL_METRICS.join(', ')})`,
          {
            step: ctx.id,
            path: `${ctx.path}.metrics[${i}]`,
          },
        );
      }
    }
    const rows = rowsOf(source, columns);
    return {
      // The trained step is a source, so it is live (and trained) whenever this step is.
      sources: [source.name, model.name],
      columns,
      aggregate: false,
      // A model is fitted (and scored) on its rows in the order they are read.
      parallel: false,
      groupBy: [],
      tracks: source.tracks,
      // Scores depend on the rows scored and on the rows the model was trained on.
      lineage: modelLineage(source, columns, false, [source.name, model.name]),
      needs: () =>
        new Map([...rows.needs(new Set()), [model.name, new Set(model.columns.map((c) => c.name))]]),
      render: rows.render,
    };
  },
};

/**
 * Throw unless DP-SGD can train `step` (a train output with dp) without reading anything
 * from its rows but through noise: every numeric feature, and a regressor's label, needs
 * declared bounds ('pipeline_dp_bounds_required'), and string features, whose one-hot
 * vocabulary would come from the rows, are refused ('pipeline_dp_unsupported').
 */
export function checkTrainDp(step: Step, index: number, analysed: AnalysedStep): void {
  const body = step.train;
  if (!body) return;
  const bounds = body.options?.bounds ?? {};
  const features = analysed.columns.slice(0, -1);
  const label = analysed.columns[analysed.columns.length - 1] as PlanColumn;
  const path = `steps[${index}].train`;
  if (solverRefusal(body.model, true, body.options?.solver) === 'dp') {
    throw pipelineError(
      'pipeline_dp_unsupported',
      `step ${step.id}: a train output with dp is trained by DP-SGD; solver exact is not private (use sgd or leave solver out)`,
      { step: step.id, path: `${path}.options.solver` },
    );
  }
  for (const c of features) {
    if (c.type === 'string') {
      throw pipelineError(
        'pipeline_dp_unsupported',
        `step ${step.id}: under DP-SGD, string feature ${c.name} cannot be one-hot encoded (its vocabulary would come from the rows); derive booleans for the categories instead`,
        {
          step: step.id,
          column: c.name,
          path: `${path}.features`,
        },
      );
    }
  }
  const needing = [
    ...features.filter((c) => isNumericType(c.type)),
    ...(body.model === 'linear_regression' ? [label] : []),
  ];
  const missing = needing.find((c) => !Object.hasOwn(bounds, c.name));
  if (missing) {
    throw pipelineError(
      'pipeline_dp_bounds_required',
      `step ${step.id}: under DP-SGD, ${missing.name} needs options.bounds: [low, high] (it is encoded from them, not from the rows)`,
      {
        step: step.id,
        column: missing.name,
        path: `${path}.options.bounds`,
      },
    );
  }
}
