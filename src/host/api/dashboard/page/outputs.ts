/**
 * One output table of a result as a reader needs it: what protected it (the DP mechanism,
 * epsilon, delta and the real release threshold, or the minimum group size), a chart that
 * fits it (bars by every group key, histograms as histograms, model metrics apart from row
 * counts), the table with numbers formatted for people, and downloads (CSV, JSON, weights)
 * that keep the exact values the enclave signed.
 */
import type { OutputTable } from '../../../../contracts/result.ts';
import { barChart, binEdges, histogram, liveChart } from './charts.ts';
import { dl, h, num, str, table } from './dom.ts';

type Cell = OutputTable['rows'][number][number];
/** What the pipeline document says of an aggregate step: its keys and each measure's definition. */
export type StepInfo = { groupBy: string[]; measures: Record<string, Record<string, unknown>> };

const NUMERIC_TYPE = /int|double|float|decimal|numeric|real|number/i;
const HISTOGRAM_CELL = /^\[\s*(?:(?:\d+|null)\s*(?:,\s*(?:\d+|null)\s*)*)?\]$/;
const LIMIT = 40;
/** Model metrics that are counts, shown apart from the quality metrics. */
const COUNT_METRICS = new Set(['epochs', 'rows', 'rows_train', 'rows_validation']);

/** Columns that hold histogram counts (a JSON array per cell). */
function histogramColumns(t: OutputTable): number[] {
  return t.columns
    .map((_, i) => i)
    .filter((i) => {
      const cells = t.rows.map((r) => r[i]).filter((c) => c !== null);
      return cells.length > 0 && cells.every((c) => typeof c === 'string' && HISTOGRAM_CELL.test(c));
    });
}

/** The line that says how the output was protected, with the numbers that applied. */
function protection(t: OutputTable): HTMLElement[] {
  const sup = t.suppressedGroups;
  const cells = t.suppressedCells ?? 0;
  const out: HTMLElement[] = [];
  if (t.dp) {
    out.push(
      h(
        'p',
        { class: 'dp', 'data-dp': 'true' },
        h('strong', {}, 'Differential privacy: '),
        `${t.dp.mechanism} mechanism, ε = ${num(t.dp.epsilon)}, δ = ${num(t.dp.delta)}. `,
        'Values are noisy; a group is released only when its noisy count reaches ',
        h('strong', {}, num(t.dp.threshold)),
        '.',
      ),
    );
  }
  const rule = t.dp
    ? `noisy count below the release threshold ${num(t.dp.threshold)}`
    : `fewer than ${num(t.minGroupSize)} rows each`;
  out.push(
    h(
      'p',
      { class: sup ? 'note' : 'muted' },
      `${num(sup)} group${sup === 1 ? '' : 's'} suppressed (${rule})`,
    ),
  );
  if (cells)
    out.push(
      h(
        'p',
        { class: 'note' },
        `${num(cells)} histogram cell(s) shown as ∅ (fewer than ${num(t.minGroupSize)} rows behind each)`,
      ),
    );
  return out;
}

/** A download link for text made in the page (the values as signed, never rounded). */
function download(label: string, name: string, type: string, text: string): HTMLElement {
  const a = h('a', { class: 'button', download: name, href: '#' }, label);
  a.addEventListener('click', () => {
    const url = URL.createObjectURL(new Blob([text], { type }));
    a.setAttribute('href', url);
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });
  return a;
}

/** CSV of a table; text cells that a spreadsheet would run as a formula are prefixed with '. */
export function toCsv(t: OutputTable): string {
  const cell = (c: Cell): string => {
    if (c === null) return '';
    let v = String(c);
    if (typeof c === 'string' && /^[=+\-@\t\r]/.test(v)) v = `'${v}`;
    return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
  };
  return (
    [t.columns.map((c) => cell(c.name)), ...t.rows.map((r) => r.map(cell))]
      .map((r) => r.join(','))
      .join('\n') + '\n'
  );
}

function modelParts(step: string, t: OutputTable): HTMLElement[] {
  const m = t.model;
  const metrics = t.rows.map((r) => [str(r[0]), r[1] === null ? Number.NaN : Number(r[1])] as const);
  const quality = metrics.filter(([k]) => !COUNT_METRICS.has(k));
  const counts = metrics.filter(([k]) => COUNT_METRICS.has(k));
  const parts: HTMLElement[] = [];
  if (m)
    parts.push(
      dl([
        ['model', `${m.kind} (${m.task}), ${m.backend}`],
        ['label', m.label],
        ['features', m.features.join(', ')],
        m.dpSgd
          ? [
              'DP-SGD',
              `ε = ${num(m.dpSgd.epsilon)}, δ = ${num(m.dpSgd.delta)}, noise ×${num(m.dpSgd.noiseMultiplier)}, clip ${num(m.dpSgd.clipNorm)}, ${num(m.dpSgd.steps)} steps`,
            ]
          : null,
      ]),
    );
  if (quality.length) {
    const holder = h('div', { class: 'metrics-chart' });
    parts.push(h('h5', {}, 'Metrics'), holder);
    liveChart(holder, (w) =>
      barChart(
        quality.map(([k, v]) => ({ keys: [k], value: v })),
        `metrics of ${step}`,
        ['metric'],
        w,
      ),
    );
  }
  if (counts.length)
    parts.push(h('h5', {}, 'Counts'), dl(counts.map(([k, v]) => [k.replace(/_/g, ' '), num(v)])));
  return parts;
}

/** The parts that show output `step` (its pipeline step's keys and measures, when known). */
export function outputParts(step: string, t: OutputTable, info?: StepInfo): HTMLElement[] {
  const hist = histogramColumns(t);
  const isNum = (i: number) =>
    !hist.includes(i) &&
    (NUMERIC_TYPE.test(t.columns[i]?.type ?? '') ||
      (t.rows.length > 0 && t.rows.every((r) => r[i] === null || typeof r[i] === 'number')));
  const keyIdx = info
    ? t.columns.map((c, i) => (info.groupBy.includes(c.name) ? i : -1)).filter((i) => i >= 0)
    : t.columns.map((_, i) => i).filter((i) => !isNum(i) && !hist.includes(i));
  const measures = t.columns.map((_, i) => i).filter((i) => isNum(i) && !keyIdx.includes(i));
  const keyNames = keyIdx.map((i) => t.columns[i]?.name ?? '');
  const keysOf = (r: Cell[]) => keyIdx.map((i) => str(r[i]));
  const parts: HTMLElement[] = [
    h('h4', {}, `Output “${step}” `, h('span', { class: 'muted' }, `${num(t.rows.length)} row(s)`)),
    ...protection(t),
  ];
  const isModel = t.model !== undefined || (t.columns.length === 2 && t.columns[0]?.name === 'metric');
  if (isModel) parts.push(...modelParts(step, t));
  else if (hist.length && t.rows.length) {
    for (const c of hist) {
      const name = t.columns[c]?.name ?? '';
      const def = info?.measures[name];
      for (const r of t.rows.slice(0, 12)) {
        const counts = JSON.parse(str(r[c]) || '[]') as (number | null)[];
        const edges = binEdges(counts.length, def?.bins, def?.bounds);
        const title = `${name}${keyNames.length ? ` — ${keyNames.map((k, i) => `${k} ${keysOf(r)[i]}`).join(', ')}` : ''}`;
        const holder = h('div', { class: 'histogram' });
        parts.push(holder);
        liveChart(holder, (w) => histogram(counts, edges, title, w));
      }
    }
  } else if (measures.length && t.rows.length) {
    const holder = h('div');
    const id = `sel-${step.replace(/[^\w-]/g, '_')}-${Math.random().toString(36).slice(2, 8)}`;
    const sel = h(
      'select',
      { id },
      measures.map((i) => h('option', { value: i }, str(t.columns[i]?.name))),
    ) as HTMLSelectElement;
    const rows = [...t.rows.slice(0, LIMIT)].sort((a, b) =>
      str(a[keyIdx[0] ?? -1]).localeCompare(str(b[keyIdx[0] ?? -1])),
    );
    const draw = (w: number) => {
      const col = Number(sel.value);
      const bars = rows.map((r, j) => ({
        keys: keyIdx.length ? keysOf(r) : [`#${j + 1}`],
        value: r[col] === null || r[col] === '' ? Number.NaN : Number(r[col]),
      }));
      return barChart(bars, str(t.columns[col]?.name), keyNames, w);
    };
    sel.addEventListener('change', () => liveChart(holder, draw));
    parts.push(
      h(
        'p',
        { class: 'row' },
        h('label', { for: id }, 'Chart column'),
        sel,
        t.rows.length > LIMIT
          ? h('span', { class: 'muted' }, `first ${LIMIT} of ${num(t.rows.length)} rows charted`)
          : null,
      ),
      holder,
    );
    liveChart(holder, draw);
  }
  // Group keys (a year, a code) are labels, shown as written; measures get digit grouping.
  const numericCols = measures;
  parts.push(
    table(
      `Output ${step}`,
      t.columns.map((c) => `${c.name} (${c.type})`),
      t.rows.map((r) => r.map((c, i) => (c === null ? '∅' : numericCols.includes(i) ? num(c) : str(c)))),
      numericCols,
    ),
    h(
      'p',
      { class: 'row downloads' },
      download('Download CSV', `${step}.csv`, 'text/csv', toCsv(t)),
      download('Download JSON', `${step}.json`, 'application/json', JSON.stringify(t, null, 2)),
      t.model?.weights
        ? download(
            'Download model weights',
            `${step}-weights.json`,
            'application/json',
            JSON.stringify(t.model.weights),
          )
        : null,
    ),
  );
  return parts;
}
