// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators (innerText waits for layout), not DOM nodes
/**
 * The dashboard signed in, in a real browser, against the in-process app (real access
 * rules, real signature checks, a double enclave): each user picks their own key file, which
 * the page reads locally and never sends. An analyst writes a pipeline with the checker's
 * errors as they type, dry-runs it (privacy cost, approval needed) and runs it, signed in the
 * page; the owner sees their dataset's budget and policy, the waiting job with its full
 * pipeline and purpose, refuses another with a reason and approves it (the host verifies the
 * page's signature and releases the job); a policy update the page signs reaches the enclave. Screenshots: test-artifacts/.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../src/cli/client.ts';
import { sealDataset } from '../../../src/cli/seal-dataset.ts';
import { ObscuraError } from '../../../src/common/errors.ts';
import { sealOutputs } from '../../../src/contracts/result-outputs.ts';
import { type AccountKey, createKeyFile, loadAccountKey } from '../../../src/crypto/index.ts';
import { EnclaveDouble, startTestApp, type TestApp } from '../../helpers/app.ts';
import { launchBrowser, openPage, screenshot, type WatchedPage } from '../../helpers/browser.ts';
import { resultDoc, resultList, serveApi } from '../../helpers/dashboard-fixtures.ts';
import { postJob } from '../../helpers/jobs.ts';

const CSV = 'patient_id,region,age,cost\nP1,north,40,10.5\nP2,south,51,20.25\nP3,north,17,3.0\n';
const PURPOSE = 'regional cost study for the 2027 budget';
const BAD = `obscura: 1
name: cost-by-region
inputs: { visits: { columns: { region: string, cost: float64 } } }
steps:
  - id: by_region
    aggregate: { from: visits, group_by: [regoin], measures: { n: { count: "*" }, total: { sum: cost } } }
outputs: { by_region: { min_group_size: 2 } }
`;
const GOOD = BAD.replace('[regoin]', '[region]');

let app: TestApp;
let browser: Browser;
const work = mkdtempSync(join(tmpdir(), 'obscura-dash-roles-'));
let owner: AccountKey;
let analyst: AccountKey;
let dataset: string;
let jobId: string;
const policyUpdates: unknown[] = [];
const enclave = new EnclaveDouble('worker-1', {
  validate_dataset: ({ input }) => ({
    rows: input.manifest.manifest.rows,
    schema: input.manifest.manifest.schema,
  }),
  budget: () => ({
    epsilon: { total: 3, spent: 1.25, remaining: 1.75 },
    delta: { total: null, spent: 0, remaining: null },
  }),
  apply_policy_update: ({ update }) => {
    policyUpdates.push(update);
    throw new ObscuraError('test_double_stop', 'the double enclave saw the update and stops here', 409);
  },
});

/** Every secret of a key file: its mnemonic, each run of three of its words, the file itself. */
function secretsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const words = (JSON.parse(text) as { mnemonic: string }).mnemonic.split(' ');
  return [text, words.join(' '), ...words.slice(0, -2).map((_, i) => words.slice(i, i + 3).join(' '))];
}

/** No request of `w` carried any of `secrets` (in its URL, headers or body) or went elsewhere. */
function assertKeyNeverSent(w: WatchedPage, secrets: string[]): void {
  expect(w.requests.length).toBeGreaterThan(5);
  for (const r of w.requests) {
    expect(new URL(r.url).origin).toBe(new URL(app.url).origin);
    const all = `${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`.toLowerCase();
    for (const s of secrets) expect(all.includes(s.toLowerCase()), `${r.method} ${r.url}`).toBe(false);
  }
}

async function signIn(w: WatchedPage, keyFile: string, address: string): Promise<void> {
  await w.page.locator('#keyfile').setInputFiles(keyFile);
  await w.page.locator('#signin-status', { hasText: `signed in as ${address.slice(0, 12)}` }).waitFor();
}

beforeAll(async () => {
  [app, browser] = await Promise.all([startTestApp({ enclaves: [enclave] }), launchBrowser()]);
  await createKeyFile(join(work, 'owner.key'));
  await createKeyFile(join(work, 'analyst.key'));
  owner = await loadAccountKey(join(work, 'owner.key'));
  analyst = await loadAccountKey(join(work, 'analyst.key'));
  writeFileSync(join(work, 'visits.csv'), CSV);
  const { signed } = await sealDataset({
    file: join(work, 'visits.csv'),
    out: join(work, 'visits.sealed'),
    name: 'visits',
    owner,
    worker: { id: enclave.info.workerId, recipient: enclave.info.keys.recipient },
    analysts: [analyst.address],
    measurements: [enclave.info.measurement],
    policy: { 'obscura-policy': 1, pipelines: 'approval' },
  });
  const form = new FormData();
  form.append('manifest', JSON.stringify(signed));
  form.append('sealed', new Blob([readFileSync(join(work, 'visits.sealed'))]), 'visits.sealed');
  dataset = ((await new ApiClient(app.url, owner).postForm('/v1/datasets', form)) as { id: string }).id;
});
afterAll(async () => {
  await Promise.all([browser?.close(), app?.close()]);
  rmSync(work, { recursive: true, force: true });
});

describe('an analyst signed in with their key file', () => {
  it('writes a pipeline with the checker as they type, dry-runs it and runs it', async () => {
    const w = await openPage(browser, `${app.url}/`);
    const { page } = w;
    await page.locator('#signin').waitFor();
    await signIn(w, join(work, 'analyst.key'), analyst.address);
    await page.locator('#analyst').waitFor();
    await page.locator('#pipeline-text').fill(BAD);
    const checker = page.locator('#checker [data-check]');
    await page.locator('#checker p.bad', { hasText: 'regoin' }).waitFor();
    expect(await checker.innerText()).toMatch(/regoin/);
    expect(await checker.innerText()).toMatch(/did you mean.*region/i);
    await page.locator('#pipeline-text').fill(GOOD);
    await page.locator('#checker [data-check="ok"]').waitFor();
    expect(await page.locator('#bind-visits').inputValue()).toBe(dataset);
    await page.locator('#purpose').fill(PURPOSE);
    await page.getByRole('button', { name: 'Dry run' }).click();
    const preview = page.locator('#run-out [data-preview]');
    await preview.waitFor();
    expect(await preview.innerText()).toContain('The job would wait for approval');
    expect(await preview.innerText()).toMatch(/privacy cost\s+ε 0, δ 0/);
    await screenshot(page, 'analyst-dry-run');
    await page.getByRole('button', { name: 'Sign and run' }).click();
    const status = page.locator('#run-out [data-status]');
    await status.waitFor();
    expect(await status.getAttribute('data-status')).toBe('awaiting_approval');
    expect(await status.innerText()).toContain('awaiting approval');
    jobId = (await status.getAttribute('data-job')) ?? '';
    // The host verified the page's signed job request: the analyst and purpose are the key's.
    const job = app.ctx.metadata.job(jobId);
    expect(job.analyst).toBe(analyst.address);
    expect(job.request?.request.recipient).toBe(analyst.resultRecipient);
    expect(job.request?.request.purpose).toBe(PURPOSE);
    await screenshot(page, 'analyst-awaiting-approval');
    assertKeyNeverSent(w, secretsOf(join(work, 'analyst.key')));
    expect(w.errors).toEqual([]);
    await page.context().close();
  });
});

describe('the owner signed in with their key file', () => {
  it('sees budget and policy, refuses one waiting job and approves the other, and signs a policy update', async () => {
    const w = await openPage(browser, `${app.url}/`);
    const { page } = w;
    await signIn(w, join(work, 'owner.key'), owner.address);
    const card = page.locator(`#owner-datasets [data-dataset="${dataset}"]`);
    await card.waitFor();
    expect(await card.innerText()).toContain('ε spent 1.25 of 3 (1.75 left)');
    expect(await card.innerText()).toContain('δ spent 0 (no limit)');
    // A second job, for another purpose, which the owner refuses with a reason.
    const other = (
      (await postJob(app.url, analyst, {
        pipeline: GOOD,
        inputs: { visits: dataset },
        purpose: 'marketing list',
      })) as { id: string }
    ).id;
    await page.getByRole('button', { name: 'Refresh all sections' }).click();
    const refused = page.locator(`#owner-approvals [data-job="${other}"]`);
    await refused.getByRole('textbox', { name: `Reason to refuse job ${other}` }).fill('not for marketing');
    await refused.getByRole('button', { name: 'Refuse' }).click();
    await refused.waitFor({ state: 'detached' });
    expect(app.ctx.metadata.job(other)).toMatchObject({
      status: 'failed',
      error: { code: 'refused_by_owner', message: expect.stringContaining('not for marketing') },
    });
    const approval = page.locator(`#owner-approvals [data-job="${jobId}"]`);
    await approval.waitFor();
    const text = await approval.innerText();
    expect(text).toContain(PURPOSE);
    expect(text).toContain(analyst.address);
    expect(text).toContain('"group_by"');
    await screenshot(page, 'owner-approval');
    await approval.getByRole('button', { name: 'Sign approval' }).click();
    await page.locator('#owner-approvals', { hasText: 'Nothing waits for your approval.' }).waitFor();
    expect(app.ctx.metadata.job(jobId).status).toBe('queued');
    // A policy update: signed in the page, checked by the host, handed to the enclave.
    await card.locator('summary', { hasText: 'Policy version 1' }).click();
    await card
      .locator('textarea')
      .fill('{ "obscura-policy": 1, "pipelines": "approval", "min_group_size": 5 }');
    await card.getByRole('button', { name: 'Sign and update policy' }).click();
    await card.locator('.bad', { hasText: 'test_double_stop' }).waitFor();
    expect(policyUpdates).toEqual([
      expect.objectContaining({
        update: expect.objectContaining({
          version: 2,
          revoked: false,
          owner: owner.address,
          policy: expect.objectContaining({ min_group_size: 5 }),
        }),
      }),
    ]);
    await screenshot(page, 'owner-datasets');
    assertKeyNeverSent(w, secretsOf(join(work, 'owner.key')));
    expect(w.errors).toEqual([]);
    await page.context().close();
  });
});

describe('a sealed result', () => {
  it('opens in the page with the key read there, checked against the signed hashes', async () => {
    // Over 64 KiB of plaintext, so the age payload has several STREAM chunks.
    const rows = Array.from({ length: 1200 }, (_, i) => [`region-${i}-${'x'.repeat(60)}`, i * 1.5]);
    const outputs = {
      by_region: {
        columns: [
          { name: 'region', type: 'string' },
          { name: 'total', type: 'float64' },
        ],
        rows,
        suppressedGroups: 0,
        minGroupSize: 2,
      },
    };
    const { sealed, ciphertext } = await sealOutputs(outputs, [
      { role: 'analyst', account: analyst.address, recipient: analyst.resultRecipient },
      { role: 'owner', account: owner.address, recipient: owner.resultRecipient },
    ]);
    expect(ciphertext.length).toBeGreaterThan(64 * 1024);
    const doc = resultDoc('res-sealed', 'f'.repeat(64), {});
    const body = (doc.signed as { result: Record<string, unknown> }).result;
    body.outputs = sealed;
    doc.ciphertext = ciphertext.toString('base64');
    const answers = { '/v1/results': resultList(doc), '/v1/results/res-sealed': doc };
    const w = await openPage(browser, `${app.url}/#result=res-sealed`, {
      setup: (p) => serveApi(p, answers),
    });
    const { page } = w;
    await page.locator('#result-detail', { hasText: 'sealed to the analyst' }).waitFor();
    await signIn(w, join(work, 'analyst.key'), analyst.address);
    const table = page.locator('#result-detail table');
    await table.waitFor();
    expect(await table.locator('tbody tr').count()).toBe(1200);
    expect(await table.locator('tbody tr').nth(1199).innerText()).toMatch(/region-1199-x+\s+1,798\.5/);
    await page.locator('#h-result').scrollIntoViewIfNeeded();
    await screenshot(page, 'analyst-sealed-result', false); // the page is 1200 rows tall
    assertKeyNeverSent(w, secretsOf(join(work, 'analyst.key')));
    expect(w.errors).toEqual([]);
    await page.context().close();
  });
});
