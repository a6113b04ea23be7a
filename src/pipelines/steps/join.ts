/**
 * The `join` step: rows of `left` matched with rows of `right` on equal values of every
 * `on` column (`how: inner`, the default, keeps matches only; `left` also keeps each
 * unmatched left row once, its right-side columns null). Null keys never match. Each key
 * must exist on both sides with compatible types: the same type, or two integer types.
 *
 * Output columns, in order: the keys (once, with the left side's type and value), the
 * left side's other columns, then the right side's. A non-key column present on both
 * sides (ignoring case) is renamed on both: `<relation>_<column>`, where relation is the
 * side's input or step name — `left_<column>` and `right_<column>` when a relation is
 * joined with itself. A renamed column that still collides is an error naming it.
 *
 * With `unique: true`, a key that occurs more than once on a side drops all that side's
 * rows with it, so every row meets at most one row of the other side: one row of an input
 * then changes at most one joined row, which is what differential privacy over a join
 * needs (see dp.ts).
 *
 * Across owners this is where private set intersection happens: inside the enclave, and
 * only aggregates of the result can leave it.
 */
import { isIntegerType, quoteIdent } from '../../data/index.ts';
import { didYouMean } from '../../common/did-you-mean.ts';
import { pipelineError } from '../errors.ts';
import { joinedTracks } from './provenance.ts';
import {
  type AnalysedStep,
  HIDDEN_PREFIX,
  type PlanColumn,
  type Relation,
  type StepCompiler,
  type StepContext,
  trackColumns,
} from './types.ts';

/** Where an output column of the join comes from. */
interface Origin {
  side: 'l' | 'r';
  column: string;
}

/** Compiler of join steps. */
export const joinStep: StepCompiler = {
  analyse(ctx: StepContext): AnalysedStep {
    const body = ctx.step.join;
    if (!body) throw new Error('not a join step');
    const left = ctx.relation(body.left, 'left');
    const right = ctx.relation(body.right, 'right');
    const how = body.how ?? 'inner';
    const keys = checkKeys(ctx, body.on, left, right);
    const keySet = new Set(keys.map((k) => k.name.toLowerCase()));
    const leftNames = new Set(left.columns.map((c) => c.name.toLowerCase()));
    const rightNames = new Set(right.columns.map((c) => c.name.toLowerCase()));
    const self = left.name === right.name;
    const prefix = { l: self ? 'left' : left.name, r: self ? 'right' : right.name };

    const columns: PlanColumn[] = [];
    const origin = new Map<string, Origin>();
    const taken = new Map<string, string>(); // lower-case output name → where it came from
    const add = (name: string, type: PlanColumn['type'], from: Origin, what: string) => {
      const other = taken.get(name.toLowerCase());
      if (other !== undefined) {
        const why = `step ${ctx.id}: output column ${name} (${what}) collides with ${other}; rename a column with a derive step first`;
        throw pipelineError('pipeline_invalid', why, {
          step: ctx.id,
          field: 'on',
          column: name,
          path: ctx.path,
        });
      }
      taken.set(name.toLowerCase(), what);
      columns.push({ name, type });
      origin.set(name, from);
    };
    for (const k of keys) add(k.name, k.type, { side: 'l', column: k.name }, 'a join key');
    for (const [side, rel, otherNames] of [
      ['l', left, rightNames],
      ['r', right, leftNames],
    ] as const) {
      for (const c of rel.columns) {
        if (keySet.has(c.name.toLowerCase())) continue;
        const clash = otherNames.has(c.name.toLowerCase());
        const name = clash ? `${prefix[side]}_${c.name}` : c.name;
        add(
          name,
          c.type,
          { side, column: c.name },
          clash ? `column ${c.name} of ${rel.name}, renamed` : `column ${c.name} of ${rel.name}`,
        );
      }
    }
    const { tracks, rename } = joinedTracks(left.tracks, right.tracks, ctx.index);
    for (const c of trackColumns(left.tracks)) origin.set(c, { side: 'l', column: c });
    for (const [from, to] of rename) origin.set(to, { side: 'r', column: from });

    const sourceOf = { l: left.name, r: right.name };
    const lineageColumns = new Map(
      columns.map((c) => {
        const o = origin.get(c.name) as Origin;
        const isKey = keySet.has(c.name.toLowerCase());
        return [
          c.name,
          isKey
            ? [
                { source: left.name, column: o.column },
                { source: right.name, column: o.column },
              ]
            : [{ source: sourceOf[o.side], column: o.column }],
        ];
      }),
    );
    const keySql = keys.map((k) => `"l".${quoteIdent(k.name)} = "r".${quoteIdent(k.name)}`).join(' AND ');
    return {
      sources: self ? [left.name] : [left.name, right.name],
      columns,
      aggregate: false,
      // The same pairs of rows in any order (`unique` counts each key's rows).
      parallel: true,
      groupBy: [],
      tracks,
      lineage: {
        columns: lineageColumns,
        uses: keys.flatMap((k) =>
          [left.name, right.name].map((source) => ({ use: 'join_on' as const, source, column: k.name })),
        ),
        rows: self ? [left.name] : [left.name, right.name],
      },
      needs: (live) => {
        const l = new Set(keys.map((k) => k.name));
        const r = self ? l : new Set(keys.map((k) => k.name));
        for (const c of live) {
          const o = origin.get(c);
          if (o) (o.side === 'l' ? l : r).add(o.column);
        }
        return self
          ? new Map([[left.name, l]])
          : new Map([
              [left.name, l],
              [right.name, r],
            ]);
      },
      render: (live, table) => {
        const select = live.map((c) => {
          const o = origin.get(c) as Origin;
          return `"${o.side}".${quoteIdent(o.column)} AS ${quoteIdent(c)}`;
        });
        const kind = how === 'left' ? 'LEFT JOIN' : 'INNER JOIN';
        const side = (name: string) => {
          if (!body.unique) return quoteIdent(table(name));
          // Rows whose key repeats on their side are dropped (nulls never match anyway).
          const n = quoteIdent(`${HIDDEN_PREFIX}n`);
          const by = keys.map((k) => quoteIdent(k.name)).join(', ');
          return `(SELECT * EXCLUDE (${n}) FROM (SELECT *, count(*) OVER (PARTITION BY ${by}) AS ${n} FROM ${quoteIdent(table(name))}) WHERE ${n} = 1)`;
        };
        const sql = `SELECT ${select.join(', ')} FROM ${side(left.name)} AS "l" ${kind} ${side(right.name)} AS "r" ON (${keySql})`;
        return { sql, params: [] };
      },
    };
  },
};

/** The key columns, checked: present on both sides, not repeated, of compatible types. */
function checkKeys(ctx: StepContext, on: readonly string[], left: Relation, right: Relation): PlanColumn[] {
  const seen = new Set<string>();
  return on.map((name, i) => {
    const path = `${ctx.path}.on[${i}]`;
    if (seen.has(name.toLowerCase())) {
      throw pipelineError('pipeline_invalid', `step ${ctx.id}: join key ${name} is listed twice`, {
        step: ctx.id,
        field: 'on',
        column: name,
        path,
      });
    }
    seen.add(name.toLowerCase());
    const l = left.columns.find((c) => c.name === name);
    const r = right.columns.find((c) => c.name === name);
    for (const [rel, col, field] of [
      [left, l, 'left'],
      [right, r, 'right'],
    ] as const) {
      if (!col) {
        throw pipelineError(
          'pipeline_unknown_column',
          `step ${ctx.id}: join key ${name} is not a column of ${field} side ${rel.name}${didYouMean(
            name,
            rel.columns.map((c) => c.name),
          )}`,
          {
            step: ctx.id,
            field: 'on',
            column: name,
            side: field,
            path,
          },
        );
      }
    }
    const lt = (l as PlanColumn).type;
    const rt = (r as PlanColumn).type;
    if (lt !== rt && !(isIntegerType(lt) && isIntegerType(rt))) {
      throw pipelineError(
        'pipeline_type_mismatch',
        `step ${ctx.id}: join key ${name} is ${lt} on the left but ${rt} on the right`,
        {
          step: ctx.id,
          field: 'on',
          column: name,
          left: lt,
          right: rt,
          path,
        },
      );
    }
    return { name, type: lt };
  });
}
