/**
 * Provenance for min_group_size: which rows of each input are behind each row of a
 * relation. Every input row gets a hidden row id when loaded (only when some output needs
 * it); filter and derive pass the ids through; a join keeps both sides' ids (a row of the
 * left input may now appear on several rows, and on a left join the right id may be
 * null); an aggregate turns them into, per input, the number of distinct row ids behind
 * each group — the figure suppression compares with min_group_size — and, when a later
 * step needs it, the list of those ids. Cheap forms are used where the tracks allow:
 * count(*) while rows are still distinct input rows, a sum of counts over groups that do
 * not share rows; otherwise the ids are counted (or collected) distinct.
 */
import { quoteIdent } from '../../data/index.ts';
import { HIDDEN_PREFIX, type Track } from './types.ts';

/** The hidden row-id column of an input. */
export function inputRowIdColumn(input: string): string {
  return `${HIDDEN_PREFIX}rid_${input}`;
}

/** The tracks of an input: its row id, exact. */
export function inputTracks(input: string): Track[] {
  return [{ input, kind: 'rid', column: inputRowIdColumn(input), exact: true }];
}

/**
 * Tracks of a join's result: both sides' tracks, none exact any more. A right-side hidden
 * column whose name the left side already uses (a self-join) is renamed with the step's
 * index; `rename` maps right-side names to output names.
 */
export function joinedTracks(
  left: readonly Track[],
  right: readonly Track[],
  stepIndex: number,
): { tracks: Track[]; rename: Map<string, string> } {
  const used = new Set(left.flatMap((t) => (t.countColumn ? [t.column, t.countColumn] : [t.column])));
  const rename = new Map<string, string>();
  const fresh = (name: string) => {
    let out = name;
    for (let n = 0; used.has(out); n++) out = `${name}_j${stepIndex}${n ? `_${n}` : ''}`;
    used.add(out);
    rename.set(name, out);
    return out;
  };
  const tracks: Track[] = left.map((t) => ({ ...t, exact: false }));
  for (const t of right) {
    const moved: Track = { ...t, column: fresh(t.column), exact: false };
    if (t.countColumn) moved.countColumn = fresh(t.countColumn);
    tracks.push(moved);
  }
  return { tracks, rename };
}

/** How an aggregate counts (and collects) the rows of one input behind each group. */
export interface GroupCount {
  input: string;
  /** Inner (grouped) select items: aggregate SQL by alias. */
  inner: { alias: string; sql: string; forList: boolean }[];
  /** Outer expression of the count, over the inner aliases. */
  count: string;
  /** Outer expression of the id list, over the inner aliases. */
  list: string;
  /** Source columns the count needs, and those the list needs in addition. */
  countNeeds: string[];
  listNeeds: string[];
  /** The output track: exact when groups cannot share rows of this input. */
  track: Track;
  /** Whether the count is of distinct ids (a table of them per group: see AnalysedStep.parallel). */
  distinct: boolean;
}

/** Per input behind `tracks` (in first-seen order), how an aggregate counts its rows. */
export function groupCounts(tracks: readonly Track[]): GroupCount[] {
  const inputs = [...new Set(tracks.map((t) => t.input))];
  return inputs.map((input) => {
    const mine = tracks.filter((t) => t.input === input);
    const c = `${HIDDEN_PREFIX}c_${input}`;
    const l = `${HIDDEN_PREFIX}l_${input}`;
    const track: Track = {
      input,
      kind: 'set',
      column: `${HIDDEN_PREFIX}rids_${input}`,
      countColumn: `${HIDDEN_PREFIX}rows_${input}`,
      exact: false,
    };
    const only = mine.length === 1 ? (mine[0] as Track) : undefined;
    const q = quoteIdent;
    const simple = (
      countSql: string,
      listSql: string,
      countNeeds: string[],
      listNeeds: string[],
      exact: boolean,
      distinct = false,
    ): GroupCount => ({
      input,
      inner: [
        { alias: c, sql: countSql, forList: false },
        { alias: l, sql: listSql, forList: true },
      ],
      count: q(c),
      list: q(l),
      countNeeds,
      listNeeds,
      track: { ...track, exact },
      distinct,
    });
    if (only?.kind === 'rid' && only.exact)
      return simple('count(*)', `list(${q(only.column)})`, [], [only.column], true);
    if (only?.kind === 'rid') {
      const id = q(only.column);
      return simple(
        `count(DISTINCT ${id})`,
        `list(DISTINCT ${id}) FILTER (WHERE ${id} IS NOT NULL)`,
        [only.column],
        [only.column],
        false,
        true,
      );
    }
    if (only?.kind === 'set' && only.exact) {
      const n = only.countColumn as string;
      return simple(
        `coalesce(sum(${q(n)}), 0)`,
        `flatten(list(${q(only.column)}))`,
        [n],
        [only.column],
        true,
      );
    }
    // General case: collect the distinct ids (list_distinct drops the nulls) and count them.
    const perRow = mine.map((t) => (t.kind === 'rid' ? `list_value(${q(t.column)})` : q(t.column)));
    const rowList = perRow.length === 1 ? (perRow[0] as string) : `list_concat(${perRow.join(', ')})`;
    const columns = mine.map((t) => t.column);
    return {
      input,
      inner: [{ alias: l, sql: `list_distinct(flatten(list(${rowList})))`, forList: false }],
      count: `coalesce(len(${q(l)}), 0)`,
      list: q(l),
      countNeeds: columns,
      listNeeds: [],
      track,
      distinct: true,
    };
  });
}

/**
 * How an aggregate counts the distinct rows of one input behind each cell of a histogram
 * (each cell is a group for min_group_size): `inner`, when present, is a grouped select
 * item to add; `list(histogram)` is the outer expression of the per-cell counts (a list of
 * `cells` integers), given the SQL of the histogram's own aggregate (a map bin → rows).
 */
export interface CellCount {
  input: string;
  inner?: { alias: string; sql: string };
  list: (histogram: string) => string;
  /** Source columns the counts need. */
  needs: string[];
  /** Whether the counts are of distinct ids (see GroupCount.distinct). */
  distinct: boolean;
}

/** Per input behind `tracks`, the distinct rows behind each of a histogram's `cells` cells (`bin` is its per-row bin over `value`). */
export function histogramCellCounts(
  tracks: readonly Track[],
  bin: string,
  value: string,
  cells: number,
  tag: string,
): CellCount[] {
  const q = quoteIdent;
  const perCell = (f: (i: string) => string) =>
    `list_transform(range(${Math.trunc(cells)}), lambda "__obscura_ci": ${f('"__obscura_ci"')})`;
  const only = tracks.length === 1 ? (tracks[0] as Track) : undefined;
  if (only?.kind === 'rid' && only.exact) {
    // Rows are still distinct input rows: a cell's rows are what the histogram counted.
    return [
      {
        input: only.input,
        list: (h) => perCell((i) => `coalesce(map_extract(${h}, ${i})[1], 0)`),
        needs: [],
        distinct: false,
      },
    ];
  }
  const inputs = [...new Set(tracks.map((t) => t.input))];
  return inputs.map((input, k) => {
    const mine = tracks.filter((t) => t.input === input);
    const perRow = mine.map((t) => (t.kind === 'rid' ? `list_value(${q(t.column)})` : q(t.column)));
    const ids = perRow.length === 1 ? (perRow[0] as string) : `list_concat(${perRow.join(', ')})`;
    const alias = `${HIDDEN_PREFIX}hc${tag}_${k}`;
    const p = '"__obscura_p"';
    // Per cell: the distinct ids of the rows in it (list_distinct drops the nulls of unmatched rows).
    const ofCell = (i: string) =>
      `coalesce(len(list_distinct(flatten(list_transform(list_filter(${q(alias)}, lambda ${p}: ${p}."b" = ${i}), lambda ${p}: ${p}."ids")))), 0)`;
    return {
      input,
      inner: {
        alias,
        sql: `list(struct_pack("b" := ${bin}, "ids" := ${ids})) FILTER (WHERE ${value} IS NOT NULL)`,
      },
      list: () => perCell(ofCell),
      needs: mine.map((t) => t.column),
      distinct: true,
    };
  });
}
