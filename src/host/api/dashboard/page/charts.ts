/**
 * SVG charts that fit an output: horizontal bars labelled by every group key (grouped and
 * coloured by the second key when there are several), and histograms drawn as histograms
 * (adjacent bins over their edges). Drawn at the container's width and redrawn on resize.
 */
import { num, s, str } from './dom.ts';

/** One bar: its label parts (the group keys) and value (NaN: null). */
export type Bar = { keys: string[]; value: number };

const PALETTE = ['#2f5fd0', '#d97706', '#15803d', '#9333ea', '#0e7490', '#be123c', '#4d7c0f', '#6b7280'];
/** The colour of series `i` (a second group key's value). */
export const seriesColour = (i: number): string => PALETTE[i % PALETTE.length] as string;

const charts = new Set<{ holder: HTMLElement; draw: () => void }>();
let resizeTimer: ReturnType<typeof setTimeout> | undefined;
/** Redraw every chart still on the page (after it was attached, or the window resized). */
export function redrawCharts(): void {
  for (const c of charts)
    if (c.holder.isConnected) c.draw();
    else charts.delete(c);
}
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(redrawCharts, 150);
});
/** Keep `holder` filled by `draw(width)`, now and on resize. */
export function liveChart(holder: HTMLElement, draw: (width: number) => SVGElement): void {
  const redraw = () => holder.replaceChildren(draw(holder.clientWidth));
  charts.add({ holder, draw: redraw });
  redraw();
}

/** A chart's width for a container `width` wide: readable on a phone, not sprawling on a wide screen. */
const chartWidth = (width: number): number => Math.max(300, Math.min(760, width || 720));

/** An empty chart of `W` × `H` that a screen reader announces as `label`. */
function chartSvg(W: number, H: number, label: string): SVGElement {
  return s('svg', {
    class: 'chart',
    width: W,
    height: H,
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': label,
  });
}

/** An axis tick: four significant digits are enough to place a bin edge. */
const tick = (v: number | undefined): string => num(v === undefined ? v : Number(v.toPrecision(4)));
const clip = (t: string, n: number): string => (t.length > n ? `${t.slice(0, n - 1)}…` : t);

/**
 * Horizontal bars of `name`. With two or more keys the bars are grouped under their first
 * key (a header line per group) and coloured by the rest, with a legend.
 */
export function barChart(bars: Bar[], name: string, keyNames: string[], width: number): SVGElement {
  const grouped = keyNames.length > 1;
  const series = grouped ? [...new Set(bars.map((b) => b.keys.slice(1).join(' · ')))] : [];
  const finite = bars.map((b) => b.value).filter(Number.isFinite);
  const lo = Math.min(0, ...finite);
  const hi = Math.max(0, ...finite);
  const span = hi - lo || 1;
  const W = chartWidth(width);
  const L = Math.round(Math.min(190, W * 0.34));
  const R = 80;
  const bh = 18;
  const gap = 6;
  const maxChars = Math.floor((L - 10) / 6.5);
  const x = (v: number) => L + ((v - lo) / span) * (W - L - R);
  type Line = { header: string } | { bar: Bar };
  const lines: Line[] = [];
  let last: string | undefined;
  for (const b of bars) {
    if (grouped && b.keys[0] !== last) {
      last = b.keys[0] ?? '';
      lines.push({ header: last });
    }
    lines.push({ bar: b });
  }
  const legendH = grouped ? 24 : 0;
  const top = 8 + legendH;
  const H = top + 8 + lines.length * (bh + gap);
  const svg = chartSvg(W, H, `Bar chart of ${name} by ${keyNames.join(' and ') || 'row'}`);
  if (grouped) {
    let lx = 8;
    series.forEach((sv, i) => {
      svg.append(s('rect', { x: lx, y: 6, width: 12, height: 12, fill: seriesColour(i) }));
      const label = `${keyNames.slice(1).join(' · ')} = ${clip(sv, 24)}`;
      svg.append(s('text', { x: lx + 16, y: 16, class: 'legend' }, label));
      lx += 28 + label.length * 7.2;
    });
  }
  lines.forEach((line, i) => {
    const y = top + i * (bh + gap);
    if ('header' in line) {
      svg.append(
        s('text', { x: 4, y: y + bh / 2 + 4, 'font-weight': 700 }, clip(`${keyNames[0]} ${line.header}`, 60)),
      );
      return;
    }
    const b = line.bar;
    const label = grouped ? b.keys.slice(1).join(' · ') : b.keys.join(' · ') || '';
    svg.append(s('text', { x: L - 8, y: y + bh / 2 + 4, 'text-anchor': 'end' }, clip(label, maxChars)));
    if (!Number.isFinite(b.value)) {
      svg.append(s('text', { x: x(0) + 4, y: y + bh / 2 + 4, fill: '#5b6470' }, 'null'));
      return;
    }
    const colour = grouped ? seriesColour(series.indexOf(label)) : b.value < 0 ? '#c2410c' : '#2f5fd0';
    const bar = s('rect', {
      x: Math.min(x(0), x(b.value)),
      y,
      width: Math.max(1, Math.abs(x(b.value) - x(0))),
      height: bh,
      rx: 3,
      fill: colour,
    });
    bar.append(s('title', {}, `${b.keys.join(' · ')}: ${num(b.value)}`));
    svg.append(bar, s('text', { x: Math.max(x(0), x(b.value)) + 4, y: y + bh / 2 + 4 }, num(b.value)));
  });
  svg.append(s('line', { x1: x(0), x2: x(0), y1: top - 4, y2: H, stroke: '#5b6470' }));
  return svg;
}

/** Bin edges for `n` bins: the document's edges, equal bins over its bounds, or bin numbers. */
export function binEdges(n: number, bins: unknown, bounds: unknown): number[] | null {
  if (Array.isArray(bins) && bins.length === n + 1) return bins.map(Number);
  if (Array.isArray(bounds) && bounds.length === 2) {
    const [lo, hi] = bounds.map(Number) as [number, number];
    return Array.from({ length: n + 1 }, (_, i) => lo + ((hi - lo) * i) / n);
  }
  return null;
}

/** A histogram: adjacent bars, one per bin, over the bin edges (or bin numbers). Null bins were suppressed. */
export function histogram(
  counts: (number | null)[],
  edges: number[] | null,
  title: string,
  width: number,
): SVGElement {
  const W = chartWidth(width);
  const H = 200;
  const L = 50;
  const R = 12;
  const top = 16;
  const bottom = 36;
  const max = Math.max(1, ...counts.map((c) => c ?? 0));
  const bw = (W - L - R) / Math.max(1, counts.length);
  const y = (v: number) => top + (1 - v / max) * (H - top - bottom);
  const svg = chartSvg(W, H, `Histogram of ${title}`);
  svg.append(s('line', { x1: L, x2: W - R, y1: y(0), y2: y(0), stroke: '#5b6470' }));
  svg.append(s('text', { x: L - 6, y: y(max) + 4, 'text-anchor': 'end' }, num(max)));
  svg.append(s('text', { x: L - 6, y: y(0) + 4, 'text-anchor': 'end' }, '0'));
  const every = Math.ceil(counts.length / Math.max(1, Math.floor((W - L - R) / 56)));
  counts.forEach((c, i) => {
    const x0 = L + i * bw;
    const range = edges
      ? `[${tick(edges[i])}, ${tick(edges[i + 1])}${i === counts.length - 1 ? ']' : ')'}`
      : `bin ${i + 1}`;
    if (c === null) {
      svg.append(s('text', { x: x0 + bw / 2, y: y(0) - 4, 'text-anchor': 'middle', fill: '#5b6470' }, '∅'));
    } else {
      const r = s('rect', {
        x: x0 + 0.5,
        y: y(c),
        width: Math.max(1, bw - 1),
        height: y(0) - y(c),
        fill: '#2f5fd0',
      });
      r.append(s('title', {}, `${range}: ${num(c)}`));
      svg.append(r);
    }
    if (i % every === 0) {
      const label = edges ? tick(edges[i]) : str(i + 1);
      svg.append(
        s('text', { x: edges ? x0 : x0 + bw / 2, y: H - bottom + 16, 'text-anchor': 'middle' }, label),
      );
    }
  });
  if (edges)
    svg.append(s('text', { x: W - R, y: H - bottom + 16, 'text-anchor': 'end' }, tick(edges[counts.length])));
  svg.append(s('text', { x: (L + W - R) / 2, y: H - 4, 'text-anchor': 'middle', class: 'muted' }, title));
  return svg;
}
