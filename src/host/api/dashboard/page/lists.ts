/**
 * The datasets, pipelines and jobs sections. Jobs are polled every 2 s while any is active
 * (every 15 s otherwise); a job that produced a result refreshes the results list.
 */
import type { DatasetRecord, JobRecord, PipelineRecord } from '../../../../contracts/api-records.ts';
import { apiList, showError } from './api.ts';
import { $, empty, h, hash, num, short, statusBadge, table, when } from './dom.ts';

/** The datasets section. */
export async function loadDatasets(): Promise<void> {
  const datasets = await apiList<DatasetRecord>('/v1/datasets', 'datasets');
  const rows = datasets.map((d) => [
    h('span', {}, h('strong', {}, d.name), h('br'), hash(d.id)),
    short(d.owner, 16),
    d.worker,
    d.format,
    num(d.rows),
    d.schema.map((c) => `${c.name}: ${c.type}`).join(', '),
    h('span', {}, `${num(d.ciphertext.bytes)} B `, hash(d.ciphertext.sha256, 8)),
    d.analysts.map((a) => (a === '*' ? 'anyone' : short(a, 12))).join(', '),
    when(d.createdAt),
  ]);
  const head = [
    'Dataset',
    'Owner',
    'Worker',
    'Format',
    'Rows',
    'Schema',
    'Sealed file',
    'Analysts',
    'Created',
  ];
  $('datasets-body').replaceChildren(
    rows.length ? table('Datasets', head, rows, [4], true) : empty('No datasets uploaded yet.'),
  );
}

/** The pipelines section. */
export async function loadPipelines(): Promise<void> {
  const pipelines = await apiList<PipelineRecord>('/v1/pipelines', 'pipelines');
  $('pipelines-body').replaceChildren(
    pipelines.length
      ? h(
          'div',
          { class: 'card' },
          pipelines.map((p) =>
            h(
              'details',
              {},
              h(
                'summary',
                {},
                h('strong', {}, p.name),
                ' ',
                hash(p.hash),
                h('span', { class: 'muted' }, ` · ${when(p.createdAt)}`),
              ),
              h('pre', {}, JSON.stringify(p.document, null, 2)),
            ),
          ),
        )
      : empty('No pipelines yet.'),
  );
}

let jobsTimer: ReturnType<typeof setTimeout> | undefined;
let resultKey: string | null = null;
/** Jobs as last loaded (the owner's approvals read their pipelines and purposes). */
export let lastJobs: JobRecord[] = [];

/** The jobs section; `onNewResult` runs when a job produced a result since the last poll. */
export async function loadJobs(onNewResult: () => void, openResult: (id: string) => void): Promise<void> {
  clearTimeout(jobsTimer);
  let jobs: JobRecord[];
  try {
    jobs = await apiList<JobRecord>('/v1/jobs', 'jobs');
  } catch (e) {
    showError('Jobs', e);
    jobsTimer = setTimeout(() => void loadJobs(onNewResult, openResult), 15_000);
    return;
  }
  lastJobs = jobs;
  const active = jobs.filter((j) => ['queued', 'running', 'anchoring'].includes(j.status)).length;
  jobsTimer = setTimeout(() => void loadJobs(onNewResult, openResult), active ? 2000 : 15_000);
  const key = jobs
    .map((j) => j.result ?? '')
    .sort()
    .join();
  if (resultKey !== null && key !== resultKey) onNewResult();
  resultKey = key;
  $('jobs-poll').textContent = active ? `${active} active · refreshing every 2 s` : '';
  const rows = jobs.map((j) => {
    const pct = Math.round(Math.max(0, Math.min(1, Number(j.progress) || 0)) * 100);
    return [
      hash(j.id, 8),
      h('span', {}, j.pipeline.name, ' ', hash(j.pipeline.hash, 8)),
      short(j.analyst, 12),
      j.worker,
      statusBadge(j.status),
      h(
        'span',
        { class: 'prog' },
        h('progress', { max: 100, value: pct, 'aria-label': `Progress of job ${short(j.id, 8)}` }),
        `${pct}%`,
      ),
      h(
        'span',
        {},
        j.message,
        j.error ? h('span', { class: 'bad' }, h('br'), `${j.error.message} (${j.error.code})`) : null,
      ),
      j.result
        ? h(
            'button',
            {
              type: 'button',
              'aria-label': `View result of job ${short(j.id, 8)}`,
              onclick: () => openResult(j.result ?? ''),
            },
            'view result',
          )
        : '',
      when(j.updatedAt),
    ];
  });
  $('jobs-body').replaceChildren(
    rows.length
      ? table(
          'Jobs',
          ['Job', 'Pipeline', 'Analyst', 'Worker', 'Status', 'Progress', 'Message', 'Result', 'Updated'],
          rows,
          [],
          true,
        )
      : empty('No jobs yet.'),
  );
}
