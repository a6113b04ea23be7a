/**
 * Attack: names an uploader or analyst chooses (a dataset's name and columns, a pipeline's
 * name and text, a group key's value in a result, a job's message) carry markup that runs
 * script in the page of whoever opens the dashboard: there the attacker's script could sign
 * requests with the reader's key. The page must show them as text, and its CSP must refuse
 * any script but its own. Run in a real browser against the in-process app.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnclaveDouble, startTestApp, type TestApp } from '../helpers/app.ts';
import { launchBrowser, openPage, screenshot } from '../helpers/browser.ts';
import { resultDoc, resultList, serveApi } from '../helpers/dashboard-fixtures.ts';

const IMG = '<img src=x onerror="window.__xss=1">';
const SCRIPT = '<script>window.__xss=2</script>';
const SVG = '<svg onload="window.__xss=3"></svg>';
const HASH = 'e'.repeat(64);

const dataset = {
  id: `ds-${'f'.repeat(10)}`,
  name: IMG,
  owner: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY',
  worker: SVG,
  format: 'csv',
  rows: 10,
  schema: [{ name: IMG, type: 'string' }],
  ciphertext: { sha256: HASH, bytes: 100 },
  analysts: [SCRIPT],
  createdAt: '2026-12-07T07:00:00.000Z',
  manifest: {},
};
const pipeline = {
  hash: HASH,
  name: SCRIPT,
  createdAt: '2026-12-07T07:00:00.000Z',
  document: { name: SCRIPT, steps: [{ id: 'by_name', aggregate: { group_by: [IMG], measures: {} } }] },
};
const result = resultDoc(IMG, HASH, {
  [SVG]: {
    columns: [
      { name: IMG, type: 'string' },
      { name: SCRIPT, type: 'float64' },
    ],
    rows: [
      [IMG, 3],
      [SVG, 4],
    ],
    suppressedGroups: 0,
    minGroupSize: 2,
  },
});
const job = {
  id: 'job-1',
  analyst: SCRIPT,
  pipeline: { hash: HASH, name: IMG },
  inputs: { visits: dataset.id },
  worker: SVG,
  status: 'failed',
  purpose: IMG,
  progress: 1,
  message: SVG,
  error: { code: IMG, message: SCRIPT },
  createdAt: '2026-12-07T07:00:00.000Z',
  updatedAt: '2026-12-07T07:00:00.000Z',
};

let app: TestApp;
let browser: Browser;
beforeAll(async () => {
  [app, browser] = await Promise.all([
    startTestApp({ enclaves: [new EnclaveDouble('worker-1')] }),
    launchBrowser(),
  ]);
});
afterAll(async () => {
  await Promise.all([browser?.close(), app?.close()]);
});

describe('markup in names the page shows', () => {
  it('is shown as text and never runs', async () => {
    const answers = {
      '/v1/datasets': { datasets: [dataset] },
      '/v1/pipelines': { pipelines: [pipeline] },
      [`/v1/pipelines/${HASH}`]: pipeline,
      '/v1/jobs': { jobs: [job] },
      '/v1/results': resultList(result),
      [`/v1/results/${encodeURIComponent(IMG)}`]: result,
    };
    const { page, errors } = await openPage(browser, `${app.url}/#result=${encodeURIComponent(IMG)}`, {
      setup: (p) => serveApi(p, answers),
    });
    await page.locator('#result-detail table').waitFor();
    await page.locator('#datasets-body table').waitFor();
    await page.locator('#jobs-body table').waitFor();
    await page.locator('#pipelines-body details').first().click();
    // Read in the page (a string: the test program has no DOM types).
    const state = (await page.evaluate(`({
      xss: window.__xss,
      imgs: document.querySelectorAll('img').length,
      scripts: [...document.querySelectorAll('script')].map((s) => s.getAttribute('src')),
      svgsWithHandlers: document.querySelectorAll('svg[onload]').length,
      text: document.body.innerText,
    })`)) as {
      xss?: number;
      imgs: number;
      scripts: (string | null)[];
      svgsWithHandlers: number;
      text: string;
    };
    expect(state.xss).toBeUndefined();
    expect(state.imgs).toBe(0);
    expect(state.scripts).toEqual(['/dashboard.js']);
    expect(state.svgsWithHandlers).toBe(0);
    // The names are there, as the characters they are.
    expect(state.text).toContain(IMG);
    expect(state.text).toContain(SCRIPT);
    expect(state.text).toContain(SVG);
    await screenshot(page, 'adversary-xss-names');
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
