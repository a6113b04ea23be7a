/**
 * The dashboard page's entry (bundled by src/host/api/dashboard/assets.ts): the header's
 * health line, sign-in with a key file, every section's loader (the owner's and analyst's
 * when signed in), and deep links that follow the address bar
 * (`#result=ID`, with back and forward through hashchange).
 */
import { ApiError, api, showError } from './api.ts';
import { $, empty, h, hash, statusBadge, str } from './dom.ts';
import { loadDatasets, loadJobs, loadPipelines } from './lists.ts';
import { clearResult, loadResults, onOpenResult, showResult } from './results.ts';
import { currentAccount, initSignin } from './signin.ts';
import type { AccountKey } from '../../../../crypto/keys.ts';
import { loadWorkers } from './workers.ts';

/** Run a loader; on failure show the error and keep the rest of the page working. */
async function guard(where: string, fn: () => Promise<void>, bodyId?: string): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof ApiError && e.code === 'unauthenticated') {
      $('signin').hidden = false;
      if (bodyId) $(bodyId).replaceChildren(empty('Sign in with your key to see these.'));
    } else showError(where, e);
  }
}

async function loadHealth(): Promise<void> {
  const el = $('health');
  try {
    const hl = await api('/v1/health');
    const c = (hl.chain ?? {}) as Record<string, unknown>;
    const degraded = Array.isArray(hl.degraded) ? hl.degraded.map(str) : [];
    el.replaceChildren(
      h('span', {}, 'API ', statusBadge(hl.status), degraded.length ? ` (${degraded.join(', ')})` : ''),
      h('span', {}, `version ${str(hl.version)}`),
      h(
        'span',
        {},
        `chain ${str(c.chainName)} `,
        hash(c.block1Hash, 10),
        c.reachable === false ? ' (unreachable)' : '',
      ),
      h('span', {}, `${str(hl.workers)} worker${hl.workers === 1 ? '' : 's'}`),
    );
  } catch (e) {
    el.replaceChildren(h('span', {}, 'API ', statusBadge('bad')));
    showError('Health', e);
  }
}

/** Open a result through the address bar, so back and forward return to it. */
function openResult(id: string): void {
  const target = `#result=${encodeURIComponent(id)}`;
  if (location.hash === target) void showResult(id);
  else location.hash = target;
}

/** Show what the address names (a result), or nothing. */
function route(): void {
  const m = /^#result=(.+)$/.exec(location.hash);
  if (m) void showResult(decodeURIComponent(m[1] ?? ''));
  else clearResult();
}

/**
 * The signed-in sections (owner, seal and upload, new job), loaded with their code only for a
 * signed-in user: the pipeline checker, statement signing and sealing stay out of the public page.
 */
function loadSignedIn(me: AccountKey | null): Promise<unknown> {
  const reload = () => void loadAll();
  if (!me) {
    for (const id of ['owner', 'seal', 'analyst']) $(id).hidden = true;
    $('seal-body').replaceChildren(); // the last account's form and outcome
    delete $('seal-body').dataset.account;
    return Promise.resolve();
  }
  return Promise.all([
    guard('Your datasets', async () => (await import('./owner.ts')).loadOwner(me, reload)),
    guard('Seal and upload', async () => (await import('./seal.ts')).loadSeal(me, reload)),
    guard('New job', async () => (await import('./analyst.ts')).loadAnalyst(me, openResult)),
  ]);
}

function loadAll(): Promise<unknown> {
  const results = () => void guard('Results', loadResults, 'results-body');
  const me = currentAccount();
  return Promise.all([
    loadHealth(),
    loadSignedIn(me),
    guard('Workers', loadWorkers),
    guard('Datasets', loadDatasets, 'datasets-body'),
    guard('Pipelines', loadPipelines, 'pipelines-body'),
    guard('Jobs', () => loadJobs(results, openResult), 'jobs-body'),
    guard('Results', loadResults, 'results-body'),
  ]);
}

onOpenResult(openResult);
initSignin(() => {
  $('error').hidden = true;
  void loadAll();
  route(); // a result only the account may read opens now
});
$('error-close').addEventListener('click', () => {
  $('error').hidden = true;
});
window.addEventListener('error', (ev) => showError('page', ev.error ?? ev.message));
window.addEventListener('unhandledrejection', (ev) => showError('page', ev.reason));
$('refresh').addEventListener('click', () => {
  $('error').hidden = true;
  void loadAll();
});
window.addEventListener('hashchange', route);
void loadAll();
route();
