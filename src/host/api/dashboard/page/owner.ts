/**
 * The owner's view, signed in: their datasets with the policy in force and a meter of the
 * privacy budget spent, the jobs waiting for their approval (with the full pipeline and the
 * purpose the analyst signed), approving or refusing them (with a reason the analyst reads),
 * and updating or revoking a policy. Every
 * statement is signed in the page with the project's own signing code (src/privacy).
 */
import { parse as parseYaml } from 'yaml';
import type { DatasetRecord } from '../../../../contracts/api-records.ts';
import type { DatasetBudget, DatasetPolicyState, JobPreview } from '../../../../contracts/api-schemas.ts';
import type { AccountKey } from '../../../../crypto/keys.ts';
import { manifestHash } from '../../../../crypto/manifest.ts';
import { parseDatasetPolicyValue } from '../../../../privacy/policy.ts';
import { purposeHash } from '../../../../privacy/job-request.ts';
import { signApproval, signPolicyUpdate } from '../../../../privacy/statements.ts';
import { api, apiList, errorText, showError } from './api.ts';
import { costText, warningsNote } from './preview.ts';
import { $, dl, empty, h, hash, num, short, statusText, str, table } from './dom.ts';

/** Show on `out` why an owner's action failed (in the alarm colour). */
function showFailure(out: HTMLElement, e: unknown): void {
  out.textContent = errorText(e);
  out.className = 'bad';
}

/** A meter of `spent` out of `total` (null: no limit). */
function meter(label: string, b: DatasetBudget['epsilon']): HTMLElement {
  const limited = b.total !== null && b.total > 0;
  const text = limited
    ? `${label} spent ${num(b.spent)} of ${num(b.total)} (${num(b.remaining)} left)`
    : `${label} spent ${num(b.spent)} (no limit)`;
  return h(
    'div',
    { class: 'meter-row' },
    h('meter', {
      min: 0,
      max: limited ? (b.total ?? 1) : 1,
      value: limited ? b.spent : 0,
      high: limited ? (b.total ?? 1) * 0.8 : 1,
      'aria-label': text,
    }),
    h('span', {}, text),
  );
}

function policyEditor(
  me: AccountKey,
  d: DatasetRecord,
  state: DatasetPolicyState,
  reload: () => void,
): HTMLElement {
  const area = h('textarea', {
    rows: 8,
    spellcheck: 'false',
    'aria-label': `Policy of ${d.name}`,
  }) as HTMLTextAreaElement;
  area.value = JSON.stringify(state.policy ?? { 'obscura-policy': 1 }, null, 2);
  const out = h('p', { class: 'muted', 'aria-live': 'polite' });
  const send = async (revoked: boolean) => {
    try {
      const policy = revoked ? undefined : parseDatasetPolicyValue(parseYaml(area.value));
      const signed = signPolicyUpdate(
        {
          dataset: manifestHash(d.manifest.manifest),
          version: state.version + 1,
          ...(policy ? { policy } : {}),
          revoked,
        },
        me,
      );
      await api(`/v1/datasets/${encodeURIComponent(d.id)}/policy`, 'POST', signed);
      out.textContent = revoked ? 'revoked' : `policy version ${state.version + 1} in force`;
      reload();
    } catch (e) {
      showFailure(out, e);
    }
  };
  const revoke = h('button', { type: 'button', class: 'danger' }, 'Revoke dataset…') as HTMLButtonElement;
  revoke.addEventListener('click', () => {
    // Revocation is final: the button asks once more before it signs.
    if (revoke.dataset.armed) return void send(true);
    revoke.dataset.armed = '1';
    revoke.textContent = 'Revoke for good (no job may use it again)';
  });
  if (state.revoked) return h('p', { class: 'bad' }, 'Revoked: no job may use this dataset again.');
  return h(
    'details',
    {},
    h('summary', {}, `Policy version ${state.version}`),
    area,
    h(
      'p',
      { class: 'row' },
      h('button', { type: 'button', onclick: () => void send(false) }, 'Sign and update policy'),
      revoke,
    ),
    out,
  );
}

async function datasetCard(me: AccountKey, d: DatasetRecord, reload: () => void): Promise<HTMLElement> {
  const id = encodeURIComponent(d.id);
  const [state, budget] = await Promise.all([
    api<DatasetPolicyState>(`/v1/datasets/${id}/policy`),
    api<DatasetBudget>(`/v1/datasets/${id}/budget`).catch((e: unknown) =>
      e instanceof Error ? e : new Error(String(e)),
    ),
  ]);
  return h(
    'article',
    { class: 'card', 'data-dataset': d.id },
    h('h3', {}, d.name),
    dl([
      ['id', hash(d.id)],
      ['rows', num(d.rows)],
      ['analysts', d.analysts.map((a) => (a === '*' ? 'anyone' : short(a, 12))).join(', ')],
      ['pipelines', str(state.policy?.pipelines ?? 'any')],
    ]),
    budget instanceof Error
      ? h('p', { class: 'bad' }, `budget unavailable: ${budget.message}`)
      : h(
          'div',
          { class: 'budget' },
          meter('ε', budget.epsilon),
          meter('δ', budget.delta),
          h('p', { class: 'muted' }, `${budget.spends.length} spend(s) anchored`),
        ),
    policyEditor(me, d, state, reload),
  );
}

function approvalCard(me: AccountKey, p: JobPreview, mine: DatasetRecord[], reload: () => void): HTMLElement {
  // The purpose the analyst signed (what the enclave checks), not the host's copy.
  const purpose = p.request?.request.purpose ?? p.purpose ?? '';
  const pending = p.inputs.filter((i) => i.owner === me.address && i.approval === 'pending');
  const out = h('p', { 'aria-live': 'polite' });
  const approve = async () => {
    try {
      for (const i of pending) {
        const d = mine.find((x) => x.id === i.dataset);
        if (!d) throw new Error(`dataset ${i.dataset} is not listed as yours`);
        const signed = signApproval(
          {
            dataset: manifestHash(d.manifest.manifest),
            pipeline: p.pipeline.hash,
            analyst: p.analyst,
            purpose: purposeHash(purpose),
          },
          me,
        );
        await api('/v1/approvals', 'POST', signed);
      }
      out.textContent = 'approved';
      reload();
    } catch (e) {
      showFailure(out, e);
    }
  };
  const reason = h('input', {
    type: 'text',
    size: 40,
    maxlength: 500,
    placeholder: 'why you refuse (the analyst reads it)',
    'aria-label': `Reason to refuse job ${p.job ?? ''}`,
  }) as HTMLInputElement;
  // The other answer: the job ends failed with the reason (a job never approved never runs either).
  const refuse = async () => {
    try {
      if (!reason.value.trim()) throw new Error('say why you refuse: the analyst reads it');
      await api(`/v1/jobs/${encodeURIComponent(p.job ?? '')}/refusal`, 'POST', { reason: reason.value });
      out.textContent = 'refused';
      reload();
    } catch (e) {
      showFailure(out, e);
    }
  };
  return h(
    'article',
    { class: 'card approval', 'data-job': p.job ?? '' },
    h('h3', {}, `Job ${short(p.job, 10)}: ${p.pipeline.name}`),
    dl([
      ['analyst', h('code', {}, p.analyst)],
      ['purpose', purpose || '(none given)'],
      ['privacy cost', costText(p.cost)],
      ['pipeline', hash(p.pipeline.hash, 16)],
    ]),
    table(
      'Inputs',
      ['Input', 'Dataset', 'Columns read', 'Approval'],
      p.inputs.map((i) => [i.name, i.datasetName, i.columnsRead.join(', '), statusText(i.approval)]),
    ),
    h(
      'details',
      { open: true },
      h('summary', {}, 'Full pipeline'),
      h('pre', {}, JSON.stringify(p.pipeline.document, null, 2)),
    ),
    warningsNote(p.warnings),
    h(
      'p',
      { class: 'row' },
      h('button', { type: 'button', onclick: () => void approve() }, 'Sign approval'),
      reason,
      h('button', { type: 'button', class: 'danger', onclick: () => void refuse() }, 'Refuse'),
    ),
    out,
  );
}

/** The owner section for `me`; empty when `me` owns no dataset. */
export async function loadOwner(me: AccountKey | null, reload: () => void): Promise<void> {
  const section = $('owner');
  section.hidden = true;
  if (!me) return;
  const mine = (await apiList<DatasetRecord>('/v1/datasets', 'datasets')).filter(
    (d) => d.owner === me.address,
  );
  section.hidden = mine.length === 0;
  if (!mine.length) return;
  const [cards, pending] = await Promise.all([
    Promise.all(mine.map((d) => datasetCard(me, d, reload))),
    apiList<JobPreview>(`/v1/approvals?owner=${encodeURIComponent(me.address)}`, 'pending'),
  ]);
  $('owner-datasets').replaceChildren(...cards);
  $('owner-approvals').replaceChildren(
    ...(pending.length
      ? pending.map((p) => approvalCard(me, p, mine, reload))
      : [empty('Nothing waits for your approval.')]),
  );
}

/** Errors of the owner section go to the error line. */
export const ownerError = (e: unknown): void => showError('Your datasets', e);
