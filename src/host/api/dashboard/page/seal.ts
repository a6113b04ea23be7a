/**
 * Seal and upload a dataset from the page, as `obscura seal` and `obscura upload` do from a
 * terminal: the owner picks a CSV on their disk; the page checks the worker's attestation
 * itself (seal-attest.ts) and refuses before reading the file if it fails; it learns the
 * schema and seals the file in one streamed pass (seal-file.ts), signs the manifest with
 * the owner's key (src/crypto/manifest.ts, the CLI's code), and uploads the manifest and the
 * sealed file. The key and the plaintext stay in the page: only ciphertext and the signed
 * manifest (schema, counts, hashes) go up.
 */
import { parse as parseYaml } from 'yaml';
import type { WorkerRecord } from '../../../../contracts/worker-record.ts';
import { isValidAddress } from '../../../../crypto/keys.ts';
import type { AccountKey } from '../../../../crypto/keys.ts';
import { type Manifest, signManifest } from '../../../../crypto/manifest.ts';
import { type DatasetPolicy, parseDatasetPolicyValue } from '../../../../privacy/policy.ts';
import { apiList, apiUpload, errorText } from './api.ts';
import { $, h, mark, num, str } from './dom.ts';
import { attestForSealing } from './seal-attest.ts';
import { sealCsv } from './seal-file.ts';

/** What the form holds, checked before anything is attested or read. */
interface SealForm {
  worker: WorkerRecord;
  file: File;
  name: string;
  analysts: string[];
  measurements: string[];
  policy: DatasetPolicy | undefined;
  allowSimulated: boolean;
  quoteVerified: boolean;
}

/** A refusal of the form's input, said in the page (nothing was sent). */
class FormError extends Error {}

const words = (text: string): string[] => text.split(/[\s,]+/).filter(Boolean);
const mb = (n: number): string => `${num(Math.round(n / 1024 / 102.4) / 10)} MB`;

function input(id: string, label: string, el: HTMLElement): HTMLElement {
  el.id = id;
  return h('p', { class: 'row' }, h('label', { for: id }, label), el);
}

function readForm(workers: WorkerRecord[]): SealForm {
  const worker = workers.find((w) => w.id === ($('seal-worker') as HTMLSelectElement).value);
  if (!worker) throw new FormError('choose a worker');
  const file = ($('seal-file') as HTMLInputElement).files?.[0];
  if (!file) throw new FormError('choose a CSV file');
  if (!/\.csv$/i.test(file.name))
    throw new FormError('the page seals CSV files; seal Parquet or Arrow with obscura seal');
  const policyText = ($('seal-policy') as HTMLTextAreaElement).value.trim();
  const policy = policyText ? parseDatasetPolicyValue(parseYaml(policyText)) : undefined;
  const typed = words(($('seal-analysts') as HTMLInputElement).value);
  const analysts = typed.length ? typed : (policy?.analysts ?? []);
  if (!analysts.length) throw new FormError('name the analysts allowed (or "*" for anyone)');
  const bad = analysts.find((a) => a !== '*' && !isValidAddress(a));
  if (bad) throw new FormError(`${bad} is not an account address (or "*" for anyone)`);
  const measurements = words(($('seal-measurements') as HTMLInputElement).value);
  if (!measurements.length || measurements.some((m) => !/^[0-9a-f]{64}$/.test(m)))
    throw new FormError('accepted measurements are 64 lower-case hex characters each');
  return {
    worker,
    file,
    name: ($('seal-name') as HTMLInputElement).value.trim() || file.name,
    analysts,
    measurements,
    policy,
    allowSimulated: ($('seal-simulated') as HTMLInputElement).checked,
    quoteVerified: ($('seal-quote-verified') as HTMLInputElement).checked,
  };
}

/** Attest, seal, sign and upload; every step is said in `out` (its data-state names it). */
async function sealAndUpload(me: AccountKey, f: SealForm, out: HTMLElement, done: () => void) {
  const say = (state: string, ...kids: (Node | string)[]) => {
    out.dataset.state = state;
    out.replaceChildren(...kids);
  };
  say('verifying', 'checking the worker’s attestation with a fresh nonce…');
  const verdict = await attestForSealing(f.worker, {
    measurements: f.measurements,
    allowSimulated: f.allowSimulated,
    quoteVerified: f.quoteVerified,
  });
  const checks = h(
    'ul',
    { class: 'checks' },
    verdict.checks.map(([ok, name, detail]) =>
      h('li', {}, mark(ok), ` ${name} `, h('span', { class: 'muted' }, `— ${detail}`)),
    ),
  );
  if (!verdict.ok || !verdict.recipient)
    return say(
      'refused',
      h('p', { class: 'bad' }, `Refused: worker ${f.worker.id} failed the checks; nothing was read or sent.`),
      checks,
    );
  const recipient = verdict.recipient;
  const progress = h('p', { class: 'muted' });
  say('sealing', progress, checks);
  const sealed = await sealCsv(f.file, recipient, (n, total) => {
    progress.textContent = `sealing in this page: ${mb(n)} of ${mb(total)}`;
  });
  const manifest: Manifest = {
    obscura: 'manifest/1',
    name: f.name,
    owner: me.address,
    format: 'csv',
    schema: sealed.schema,
    rows: sealed.rows,
    plaintext: sealed.plaintext,
    ciphertext: sealed.ciphertext,
    worker: { id: f.worker.id, recipient },
    analysts: f.analysts,
    measurements: f.measurements,
    ...(f.policy ? { policy: f.policy } : {}),
    resultRecipient: me.resultRecipient,
    createdAt: new Date().toISOString(),
  };
  const signed = signManifest(manifest, me);
  say('uploading', h('p', { class: 'muted' }, `uploading ${mb(sealed.ciphertext.bytes)} sealed…`), checks);
  const form = new FormData();
  form.append('manifest', JSON.stringify(signed));
  form.append('sealed', sealed.sealed, `${f.file.name}.age`);
  const record = await apiUpload('/v1/datasets', form);
  out.dataset.dataset = str(record.id);
  say(
    'done',
    h(
      'p',
      {},
      `Uploaded ${f.name}: ${num(sealed.rows)} rows, ${sealed.schema.length} columns, dataset `,
      h('code', {}, str(record.id)),
      verdict.simulated ? ' (sealed to a SIMULATED TEE)' : '',
    ),
    checks,
  );
  done();
}

/** The seal-and-upload section for `me` (hidden when signed out). */
export async function loadSeal(me: AccountKey | null, reload: () => void): Promise<void> {
  const section = $('seal');
  const body = $('seal-body');
  section.hidden = !me;
  if (!me) {
    delete body.dataset.account;
    return body.replaceChildren();
  }
  // A reload (after an upload, or Refresh) keeps the form and the last outcome in view.
  if (body.dataset.account === me.address) return;
  body.dataset.account = me.address;
  const workers = (await apiList<WorkerRecord>('/v1/workers', 'workers')).filter(
    (w) => w.status === 'running',
  );
  const select = h(
    'select',
    {},
    workers.map((w) => h('option', { value: w.id }, `${w.id} (${w.simulated ? 'simulated' : w.tee})`)),
  ) as HTMLSelectElement;
  const measurements = h('input', { type: 'text', size: 70, spellcheck: 'false' }) as HTMLInputElement;
  // The listing's measurement as a starting point: the owner's list is what is checked.
  const fill = () => {
    measurements.value = workers.find((w) => w.id === select.value)?.measurement ?? '';
  };
  select.addEventListener('change', fill);
  fill();
  const out = h('div', { id: 'seal-out', 'aria-live': 'polite' });
  const button = h('button', { type: 'button' }, 'Verify worker, seal and upload') as HTMLButtonElement;
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await sealAndUpload(me, readForm(workers), out, reload);
    } catch (e) {
      out.dataset.state = 'failed';
      out.replaceChildren(h('p', { class: 'bad' }, errorText(e)));
    } finally {
      button.disabled = false;
    }
  });
  body.replaceChildren(
    input('seal-worker', 'Worker', select),
    input('seal-file', 'CSV file', h('input', { type: 'file', accept: '.csv,text/csv' })),
    input('seal-name', 'Name', h('input', { type: 'text', size: 40, placeholder: 'the file name' })),
    input(
      'seal-analysts',
      'Analysts',
      h('input', {
        type: 'text',
        size: 70,
        placeholder: 'addresses, or * for anyone (default: the policy’s)',
      }),
    ),
    input('seal-measurements', 'Accepted measurements', measurements),
    input(
      'seal-policy',
      'Policy',
      h('textarea', {
        rows: 4,
        spellcheck: 'false',
        placeholder: '{ "obscura-policy": 1, "min_group_size": 10 } (optional)',
      }),
    ),
    h(
      'p',
      { class: 'row' },
      h(
        'label',
        {},
        h('input', { type: 'checkbox', id: 'seal-simulated' }),
        ' accept a simulated TEE (test data only)',
      ),
      h(
        'label',
        {},
        h('input', { type: 'checkbox', id: 'seal-quote-verified' }),
        ' fallback, only if the page cannot verify the quote itself (no collateral, or a TDX code measurement): I verified this worker with obscura attest',
      ),
    ),
    h(
      'p',
      { class: 'row' },
      button,
      h('span', { class: 'muted' }, 'The file is sealed in this page: only ciphertext leaves it.'),
    ),
    out,
  );
}
