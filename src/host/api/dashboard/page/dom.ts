/**
 * Building the dashboard's DOM without HTML strings: every value from the API (dataset and
 * column names, pipeline text, cell values) reaches the page as a text node or an attribute
 * value, never as markup, so a name like `<img src=x onerror=…>` shows as those characters.
 */
import { formatNumber } from '../../../../common/format-number.ts';

/** A child an element can take: a node, text, or nothing (skipped). */
export type Kid = Node | string | number | null | undefined | false | Kid[];
type Props = Record<string, string | number | boolean | null | undefined | ((ev: Event) => void)>;

/** The element with this id (the page's fixed skeleton, so it exists). */
export function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
}

/** Create an element: `on*` props are listeners, `text` sets textContent, others are attributes. */
export function h(tag: string, props: Props = {}, ...kids: Kid[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, kids);
  return el;
}

function append(el: Element, kids: Kid[]): void {
  for (const c of kids) {
    if (Array.isArray(c)) append(el, c);
    else if (c !== null && c !== undefined && c !== false && c !== '')
      el.append(c instanceof Node ? c : String(c));
  }
}

const SVG = 'http://www.w3.org/2000/svg'; // XML namespace name, never fetched
/** Create an SVG element with attributes and optional text. */
export function s(tag: string, attrs: Record<string, string | number> = {}, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A value as text ('' for null and undefined). */
export const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
/** Long identifiers cut to `n` characters with an ellipsis. */
export const short = (v: unknown, n = 12): string => {
  const t = str(v);
  return t.length > n + 2 ? `${t.slice(0, n)}…` : t;
};
/** A hash or id: short, the whole value in the tooltip. */
export const hash = (v: unknown, n = 12): HTMLElement => h('code', { title: str(v) }, short(v, n));
/** A number as a person reads it: grouped digits, no float tails (15 significant digits). */
export function num(v: unknown): string {
  if (v === null || v === undefined || v === '' || typeof v === 'boolean') return '';
  const n = Number(v);
  if (!Number.isFinite(n)) return str(v);
  const exact = Number(formatNumber(n));
  return exact.toLocaleString('en-US', { maximumFractionDigits: 15 });
}
/** A timestamp in the reader's locale. */
export const when = (v: unknown): string => {
  const d = new Date(str(v));
  return Number.isNaN(d.getTime()) ? str(v) : d.toLocaleString();
};
/** Array or nothing. */
export const list = <T>(v: T[] | undefined | null): T[] => (Array.isArray(v) ? v : []);

const STATUS_WORDS: Record<string, string> = {
  awaiting_approval: 'awaiting approval',
  queued: 'queued',
  running: 'running',
  anchoring: 'anchoring on chain',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
  ok: 'ok',
  degraded: 'degraded',
  bad: 'unavailable',
};
/** A status as words (`awaiting_approval` → "awaiting approval"). */
export const statusText = (st: unknown): string => STATUS_WORDS[str(st)] ?? str(st).replace(/_/g, ' ');
/** A status badge; its class keeps the machine value for colour. */
export const statusBadge = (st: unknown): HTMLElement =>
  h('span', { class: `badge st-${str(st).replace(/[^\w-]/g, '')}` }, statusText(st));
/** The warning badge for evidence from a simulated TEE. */
export const simBadge = (): HTMLElement =>
  h(
    'span',
    {
      class: 'badge sim',
      title: 'Evidence comes from a simulated TEE: not hardware-backed; never use for real data',
    },
    'SIMULATED TEE',
  );
/** A pass/fail mark with words for screen readers. */
export const mark = (ok: boolean): HTMLElement =>
  h(
    'span',
    { class: ok ? 'ok' : 'bad' },
    h('span', { 'aria-hidden': 'true' }, ok ? '✓' : '✗'),
    h('span', { class: 'sr' }, ok ? 'passed:' : 'failed:'),
  );
/** The "nothing here" line. */
export const empty = (t: string): HTMLElement => h('p', { class: 'empty' }, t);

/** A definition list of [term, value] pairs (falsy pairs skipped). */
export function dl(pairs: ([string, Node | string] | false | null)[]): HTMLElement {
  return h(
    'dl',
    {},
    pairs.flatMap((p) => (p ? [h('dt', {}, p[0]), h('dd', {}, p[1])] : [])),
  );
}

/** A table; `stack` lists (not data outputs) turn into labelled rows on narrow screens. */
export function table(
  caption: string,
  head: string[],
  rows: (Node | string)[][],
  numeric: number[] = [],
  stack = false,
): HTMLElement {
  return h(
    'div',
    { class: stack ? 'scroll stack' : 'scroll' },
    h(
      'table',
      {},
      h('caption', { class: 'sr' }, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            {},
            r.map((c, i) =>
              h('td', { class: numeric.includes(i) ? 'num' : null, 'data-label': stack ? head[i] : null }, c),
            ),
          ),
        ),
      ),
    ),
  );
}
