/**
 * Results: the list, one result's outputs (through outputs.ts), the page's own check of its
 * anchor on a chain the reader names (chain-check.ts), and its provenance as the
 * API host checks it. The pipeline document, when the reader may read it, tells which
 * columns are group keys and where histogram bins lie.
 */
import { base64 } from '@scure/base';
import type { OutputTable, ResultBody } from '../../../../contracts/result.ts';
import { openOutputs } from '../../../../contracts/result-outputs.ts';
import { ApiError, api, apiList, type Json, showError } from './api.ts';
import { redrawCharts } from './charts.ts';
import { $, dl, empty, h, hash, list, mark, num, short, simBadge, str, table, when } from './dom.ts';
import { outputParts, type StepInfo } from './outputs.ts';
import { currentAccount } from './signin.ts';

/** Called with a result id when the reader opens one (the router puts it in the address). */
let open: (id: string) => void = () => {};
/** Set how a click on a result opens it (main.ts routes through the address bar). */
export function onOpenResult(f: (id: string) => void): void {
  open = f;
}

/** The results section. */
export async function loadResults(): Promise<void> {
  const results = await apiList<Json>('/v1/results', 'results');
  const rows = results.map((r) => {
    const p = (r.pipeline ?? {}) as Json;
    return [
      h(
        'button',
        { type: 'button', 'aria-label': `Open result ${str(r.id)}`, onclick: () => open(str(r.id)) },
        short(r.id, 10),
      ),
      h('span', {}, str(p.name), ' ', hash(p.hash, 8)),
      hash(r.job, 8),
      when(r.createdAt),
      r.simulated ? simBadge() : 'hardware TEE',
    ];
  });
  $('results-body').replaceChildren(
    rows.length
      ? table('Results', ['Result', 'Pipeline', 'Job', 'Created', 'Enclave'], rows, [], true)
      : empty('No results yet.'),
  );
}

/** Group keys and measure definitions per aggregate step of a pipeline document. */
function stepInfo(document: unknown): Record<string, StepInfo> {
  const out: Record<string, StepInfo> = {};
  const steps = (document as { steps?: unknown } | null)?.steps;
  for (const st of Array.isArray(steps) ? (steps as Json[]) : []) {
    const agg = st.aggregate as Json | undefined;
    if (!agg || typeof st.id !== 'string') continue;
    out[st.id] = {
      groupBy: Array.isArray(agg.group_by) ? agg.group_by.map(str) : [],
      // A measure's own fields hold its bins and bounds: `{ histogram: col, bins, bounds }`.
      measures: (agg.measures ?? {}) as Record<string, Record<string, unknown>>,
    };
  }
  return out;
}

/** Which showResult call is the latest: an earlier one still loading must not draw over it. */
let showing = 0;
/** Empty the detail box (and drop any result still loading). */
export function clearResult(): void {
  showing++;
  $('result-detail').replaceChildren();
}

/** Show result `id` in the detail box. */
export async function showResult(id: string): Promise<void> {
  const box = $('result-detail');
  const mine = ++showing;
  box.replaceChildren(h('p', { class: 'muted' }, `loading result ${id}…`));
  try {
    const doc: Json = await api(`/v1/results/${encodeURIComponent(id)}`);
    const body = ((doc.signed as Json | undefined)?.result ?? {}) as Json;
    const enc = (body.enclave ?? {}) as Json;
    const an = (doc.anchor ?? {}) as Json;
    const pipeline = (body.pipeline ?? {}) as Json;
    let info: Record<string, StepInfo> = {};
    try {
      const rec: Json = await api(`/v1/pipelines/${encodeURIComponent(str(pipeline.hash))}`);
      info = stepInfo(rec.document);
    } catch {
      // The reader may not read the pipeline: the page guesses keys from the column types.
    }
    if (mine !== showing) return; // the reader moved on (back, forward, another result)
    const prov = h('div', { 'aria-live': 'polite' });
    const pbtn = h(
      'button',
      { type: 'button', 'aria-label': `Check provenance of result ${str(doc.id)} on the chain` },
      'check provenance on chain',
    ) as HTMLButtonElement;
    pbtn.addEventListener('click', () => void showProvenance(str(doc.id), prov, pbtn));
    const outputsField = (body.outputs ?? {}) as Json;
    const sealed = outputsField.visibility === 'sealed';
    const opened = (doc.opened ?? {}) as Json;
    const me = currentAccount();
    if (sealed && !doc.opened && me && typeof doc.ciphertext === 'string') {
      // Opened here with the key read in this page, checked against the hashes the enclave signed.
      try {
        opened.outputs = await openOutputs(body as unknown as ResultBody, base64.decode(doc.ciphertext), me);
      } catch (e) {
        opened.error = { message: (e as Error).message };
      }
    }
    const tables = (sealed ? opened.outputs : outputsField.tables) as Record<string, OutputTable> | undefined;
    const outputs = Object.entries(tables && typeof tables === 'object' ? tables : {});
    const noOutputs = sealed
      ? empty(
          opened.error
            ? `The outputs are sealed and could not be opened: ${str((opened.error as Json).message)}`
            : "The outputs are sealed to the analyst and the inputs' owners: sign in with your key to read them.",
        )
      : empty('This result has no outputs.');
    const chain = (an.chain ?? {}) as Json;
    box.replaceChildren(
      h(
        'article',
        { class: 'card', 'aria-labelledby': 'h-result' },
        h(
          'h3',
          { id: 'h-result', class: 'row', tabindex: -1 },
          `Result ${str(doc.id)}`,
          enc.simulated ? simBadge() : null,
        ),
        dl([
          ['pipeline', h('span', {}, str(pipeline.name), ' ', hash(pipeline.hash))],
          ['created', when(body.createdAt)],
          ['enclave', `${str(enc.worker)} · tee ${str(enc.tee)}`],
          ['measurement', h('code', {}, str(enc.measurement))],
          [
            'anchor',
            `${str(chain.chainName)} block #${num(an.blockNumber)}, extrinsic ${str(an.extrinsicIndex)}`,
          ],
          ['block hash', h('code', {}, str(an.blockHash))],
        ]),
        h('p', { class: 'row' }, pbtn),
        prov,
        chainCheck(doc),
        outputs.length ? outputs.flatMap(([step, t]) => outputParts(step, t, info[step])) : noOutputs,
      ),
    );
    redrawCharts(); // now attached, so they know their width
    (box.querySelector('h3') as HTMLElement | null)?.focus();
  } catch (e) {
    box.replaceChildren(
      h('p', { class: 'bad' }, e instanceof ApiError ? e.message : 'could not show this result'),
    );
    showError(`Result ${id}`, e);
  }
}

/** The reader's own check of the anchor, on a chain endpoint they type (chain-check.ts, loaded on demand). */
function chainCheck(doc: Json): HTMLElement {
  const endpoint = h('input', {
    type: 'url',
    id: 'chain-endpoint',
    size: 40,
    placeholder: 'the ws or wss address of a node you trust',
    'aria-label': 'Chain endpoint to check the anchor on',
  }) as HTMLInputElement;
  const out = h('div', { id: 'chain-out', 'aria-live': 'polite' });
  const btn = h('button', { type: 'button' }, 'check on this chain') as HTMLButtonElement;
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    delete out.dataset.ok;
    out.replaceChildren(h('p', { class: 'muted' }, `connecting to ${endpoint.value}…`));
    try {
      const { checkOnChain } = await import('./chain-check.ts');
      const v = await checkOnChain(doc, endpoint.value.trim());
      out.dataset.ok = String(v.ok);
      out.replaceChildren(
        h(
          'p',
          {},
          h(
            'span',
            { class: `badge ${v.ok ? 'st-ok' : 'st-bad'}` },
            v.ok ? 'anchored on this chain' : 'NOT verified on this chain',
          ),
          ` checked in this page against ${endpoint.value.trim()}`,
        ),
        h(
          'ul',
          { class: 'checks', 'aria-label': 'Checks on your chain' },
          v.checks.map((c) =>
            h(
              'li',
              {},
              mark(c.ok),
              ' ',
              h('strong', {}, c.name),
              h('span', { class: 'muted' }, ` — ${c.detail}`),
            ),
          ),
        ),
      );
    } catch (e) {
      out.dataset.ok = 'false';
      out.replaceChildren(
        h('p', { class: 'bad' }, `could not check on ${endpoint.value}: ${str((e as Error)?.message ?? e)}`),
      );
    } finally {
      btn.disabled = false;
    }
  });
  return h(
    'div',
    {},
    h('p', { class: 'row' }, h('label', { for: 'chain-endpoint' }, 'Your chain'), endpoint, btn),
    out,
  );
}

async function showProvenance(id: string, out: HTMLElement, btn: HTMLButtonElement): Promise<void> {
  btn.disabled = true;
  out.replaceChildren(h('p', { class: 'muted' }, 'checking the anchor against the chain…'));
  try {
    const p: Json = await api(`/v1/results/${encodeURIComponent(id)}/provenance`);
    const ac = (p.anchorCheck ?? {}) as Json;
    const checks = list(ac.checks as Json[] | undefined);
    const inputs = list(p.inputs as Json[] | undefined);
    out.replaceChildren(
      h(
        'div',
        { class: 'card' },
        h(
          'h4',
          { class: 'row' },
          'Provenance ',
          h(
            'span',
            { class: `badge ${ac.ok ? 'st-ok' : 'st-bad'}` },
            ac.ok ? 'anchor verified' : 'anchor NOT verified',
          ),
          (p.enclave as Json | undefined)?.simulated ? simBadge() : null,
        ),
        h(
          'ul',
          { class: 'checks', 'aria-label': 'Chain checks' },
          checks.map((c) =>
            h(
              'li',
              {},
              mark(c.ok === true),
              ' ',
              h('strong', {}, str(c.name)),
              h('span', { class: 'muted' }, ` — ${str(c.detail)}`),
            ),
          ),
        ),
        dl([
          ['chain endpoint', h('code', {}, str(p.chainEndpoint))],
          ['result hash', h('code', {}, str(p.hash))],
          ['Merkle root', h('code', {}, str((p.anchor as Json | undefined)?.root))],
        ]),
        inputs.length
          ? table(
              'Inputs',
              ['Input', 'Dataset', 'Owner', 'Rows', 'Sealed SHA-256'],
              inputs.map((i) => [
                str(i.name),
                hash(i.dataset),
                short(i.owner, 12),
                num(i.rows),
                hash(i.ciphertextSha256),
              ]),
              [3],
              true,
            )
          : null,
        h(
          'details',
          {},
          h('summary', {}, 'Attestation and anchor (JSON)'),
          h('pre', {}, JSON.stringify({ attestation: p.attestation, anchor: p.anchor }, null, 2)),
        ),
        h(
          'p',
          { class: 'muted' },
          'Checked by the API host for display; an auditor should run ',
          h('code', {}, `obscura verify ${id}`),
          ' against the chain directly.',
        ),
      ),
    );
  } catch (e) {
    out.replaceChildren(
      h('p', { class: 'bad' }, e instanceof ApiError ? e.message : 'provenance check failed'),
    );
    showError(`Provenance of ${id}`, e);
  } finally {
    btn.disabled = false;
  }
}
