/**
 * The analyst's view, signed in: a pipeline editor that runs the project's own parser and
 * checker (src/pipelines, bundled) as they type, against the schemas of the datasets bound
 * to its inputs; a dry run with the privacy cost and every check; and a run, signed in the
 * page with the project's job-request signing (src/privacy/job-request.ts), followed until its
 * result opens.
 */
import type { DatasetRecord, JobRecord } from '../../../../contracts/api-records.ts';
import type { JobPreview } from '../../../../contracts/api-schemas.ts';
import { ObscuraError } from '../../../../common/errors.ts';
import type { AccountKey } from '../../../../crypto/keys.ts';
import type { DatasetSchema } from '../../../../data/schema.ts';
import { checkPipeline } from '../../../../pipelines/check.ts';
import { pipelineHash } from '../../../../pipelines/hash.ts';
import { bindingFromRecord } from '../../../../privacy/job-binding.ts';
import { parsePipeline } from '../../../../pipelines/parse.ts';
import {
  type JobRequestBinding,
  type SignedJobRequest,
  signJobRequest,
} from '../../../../privacy/job-request.ts';
import type { PipelineDocument } from '../../../../pipelines/schema.ts';
import { api, apiList, errorText } from './api.ts';
import { costText, warningsNote } from './preview.ts';
import { $, dl, h, mark, short, statusBadge, str } from './dom.ts';

let datasets: DatasetRecord[] = [];
let doc: PipelineDocument | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;

/** What the checker said: ok, or one error with its code and where. */
function report(e: unknown): HTMLElement {
  if (e === null)
    return h('p', { class: 'ok', 'data-check': 'ok' }, mark(true), ' the checker accepts this pipeline');
  const err = e instanceof ObscuraError ? e : null;
  const where = err?.details?.path ?? err?.details?.step;
  return h(
    'p',
    { class: 'bad', 'data-check': err?.code ?? 'error' },
    mark(false),
    ` ${err ? err.message : errorText(e)}`,
    err ? h('span', { class: 'muted' }, ` (${err.code}${where ? ` at ${str(where)}` : ''})`) : null,
  );
}

/** The schema an input is checked against: the bound dataset's, else what the document declares. */
function schemaOf(name: string, declared: Record<string, string>): DatasetSchema {
  const d = datasets.find((x) => x.id === bindings()[name]);
  return d
    ? d.schema
    : Object.entries(declared).map(([n, type]) => ({ name: n, type }) as DatasetSchema[number]);
}

function bindings(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const sel of $('bindings').querySelectorAll('select')) if (sel.value) out[sel.name] = sel.value;
  return out;
}

function renderBindings(): void {
  const names = Object.keys(doc?.inputs ?? {});
  const box = $('bindings');
  const had = bindings();
  if (names.join() === [...box.querySelectorAll('select')].map((s) => s.name).join()) return;
  box.replaceChildren(
    ...names.map((n) => {
      const id = `bind-${n}`;
      const sel = h(
        'select',
        { id, name: n },
        h('option', { value: '' }, '— choose a dataset —'),
        datasets.map((d) =>
          h(
            'option',
            { value: d.id, selected: had[n] === d.id || (datasets.length === 1 && !had[n]) },
            `${d.name} (${short(d.id, 8)})`,
          ),
        ),
      );
      sel.addEventListener('change', check);
      return h('p', { class: 'row' }, h('label', { for: id }, `input ${n}`), sel);
    }),
  );
}

/** Parse and check the editor's text now. */
function check(): void {
  const text = ($('pipeline-text') as HTMLTextAreaElement).value;
  const out = $('checker');
  if (!text.trim())
    return void out.replaceChildren(h('p', { class: 'muted' }, 'The checker runs as you type.'));
  try {
    doc = parsePipeline(text);
    renderBindings();
    const inputs = doc.inputs as Record<string, { columns: Record<string, string> }>;
    checkPipeline(
      doc,
      Object.fromEntries(Object.entries(inputs).map(([n, i]) => [n, schemaOf(n, i.columns)])),
    );
    out.replaceChildren(report(null));
  } catch (e) {
    out.replaceChildren(report(e));
  }
}

function submission(): { pipeline: string; inputs: Record<string, string>; purpose?: string } {
  const purpose = ($('purpose') as HTMLInputElement).value.trim();
  return {
    pipeline: ($('pipeline-text') as HTMLTextAreaElement).value,
    inputs: bindings(),
    ...(purpose ? { purpose } : {}),
  };
}

function showPreview(p: JobPreview): HTMLElement {
  // Waiting for an owner's approval is not a refusal: the job is accepted and waits.
  const failing = p.checks.filter((c) => !c.ok);
  const waits = failing.length > 0 && failing.every((c) => c.check === 'approvals');
  const owners = [
    ...new Set(p.inputs.filter((i) => i.approval === 'pending').map((i) => short(i.owner, 12))),
  ];
  const verdict = p.ok
    ? 'The job would run now'
    : waits
      ? `The job would wait for approval from ${owners.join(', ')}`
      : 'The job would be refused';
  return h(
    'div',
    { class: 'card', 'data-preview': p.ok ? 'ok' : waits ? 'awaiting_approval' : 'refused' },
    h('h4', {}, verdict),
    dl([
      ['privacy cost', costText(p.cost)],
      ...p.inputs.map((i): [string, string] => [
        `input ${i.name}`,
        `${i.datasetName}: ${costText(i.cost)}; ${i.approval.replace(/_/g, ' ')}`,
      ]),
    ]),
    h(
      'ul',
      { class: 'checks' },
      p.checks.map((c) =>
        h('li', {}, mark(c.ok), ` ${c.check} `, h('span', { class: 'muted' }, `— ${c.detail}`)),
      ),
    ),
    warningsNote(p.warnings),
  );
}

async function dryRun(): Promise<void> {
  const out = $('run-out');
  out.replaceChildren(h('p', { class: 'muted' }, 'asking the host…'));
  try {
    out.replaceChildren(showPreview(await api<JobPreview>('/v1/jobs?dry_run=true', 'POST', submission())));
  } catch (e) {
    out.replaceChildren(h('p', { class: 'bad' }, errorText(e)));
  }
}

async function follow(id: string, openResult: (id: string) => void): Promise<void> {
  const out = $('run-out');
  for (;;) {
    const j = await api<JobRecord>(`/v1/jobs/${encodeURIComponent(id)}`);
    const pct = Math.round(j.progress * 100);
    out.replaceChildren(
      h(
        'p',
        { class: 'row', 'data-job': j.id, 'data-status': j.status },
        `job ${short(j.id, 10)}`,
        statusBadge(j.status),
        h('progress', { max: 100, value: pct, 'aria-label': 'progress' }),
        `${pct}%`,
        h('span', { class: 'muted' }, j.message),
      ),
      j.error ? h('p', { class: 'bad' }, `${j.error.message} (${j.error.code})`) : '',
    );
    if (j.result) return openResult(j.result);
    if (['failed', 'cancelled', 'awaiting_approval'].includes(j.status)) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * The analyst's signed job request, as src/client/job-request.ts makes it for the CLI: each
 * bound dataset's manifest hash, from a manifest whose owner signature the page checks itself.
 */
async function signedRequest(me: AccountKey, job: ReturnType<typeof submission>): Promise<SignedJobRequest> {
  const parsed = parsePipeline(job.pipeline);
  const inputs: Record<string, JobRequestBinding> = {};
  for (const [name, id] of Object.entries(job.inputs)) {
    inputs[name] = bindingFromRecord(id, await api<DatasetRecord>(`/v1/datasets/${encodeURIComponent(id)}`));
  }
  return signJobRequest(
    {
      pipeline: pipelineHash(parsed),
      inputs,
      ...(job.purpose ? { purpose: job.purpose } : {}),
      outputs: Object.keys(parsed.outputs),
    },
    me,
  );
}

async function run(me: AccountKey, openResult: (id: string) => void): Promise<void> {
  const out = $('run-out');
  try {
    const job = submission();
    const request = await signedRequest(me, job);
    const rec = await api<JobRecord>('/v1/jobs', 'POST', { ...job, request });
    await follow(rec.id, openResult);
  } catch (e) {
    out.replaceChildren(h('p', { class: 'bad' }, errorText(e)));
  }
}

let wired = false;
/** The analyst section for `me` (hidden when signed out). */
export async function loadAnalyst(me: AccountKey | null, openResult: (id: string) => void): Promise<void> {
  $('analyst').hidden = !me;
  if (!me) return;
  datasets = await apiList<DatasetRecord>('/v1/datasets', 'datasets');
  if (!wired) {
    wired = true;
    $('pipeline-text').addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(check, 250);
    });
    $('dry-run').addEventListener('click', () => void dryRun());
  }
  ($('run') as HTMLButtonElement).onclick = () => void run(me, openResult);
  $('bindings').replaceChildren();
  check();
}
