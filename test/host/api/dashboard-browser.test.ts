// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators (innerText waits for layout), not DOM nodes
/**
 * The dashboard in a real browser (headless chromium, test/helpers/browser.ts), served by the
 * in-process API app: the public page (health, workers, the page's own attestation check,
 * favicon, the Content-Security-Policy it runs under), results drawn as their outputs need
 * (DP labels with the real threshold, bars by every group key, histograms, model metrics
 * apart from counts, downloads), and deep links that follow the address bar, back and forward.
 * Screenshots land in test-artifacts/.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatedEvidence } from '../../../src/attestation/simulated.ts';
import { EnclaveDouble, startTestApp, type TestApp } from '../../helpers/app.ts';
import { launchBrowser, openPage, screenshot } from '../../helpers/browser.ts';
import {
  DP_PIPELINE,
  DP_RESULT,
  HISTOGRAM_PIPELINE,
  HISTOGRAM_RESULT,
  MODEL_RESULT,
  resultList,
  serveApi,
} from '../../helpers/dashboard-fixtures.ts';

let app: TestApp;
let browser: Browser;
const authority = mkdtempSync(join(tmpdir(), 'obscura-dash-'));
const enclave: EnclaveDouble = new EnclaveDouble('worker-1', {
  attest: ({ nonce }) => ({
    evidence: simulatedEvidence({
      dataDir: authority,
      workerId: enclave.info.workerId,
      measurement: enclave.info.measurement,
      keys: enclave.info.keys,
      nonce,
    }),
  }),
});

beforeAll(async () => {
  [app, browser] = await Promise.all([startTestApp({ enclaves: [enclave] }), launchBrowser()]);
});
afterAll(async () => {
  await Promise.all([browser?.close(), app?.close()]);
  rmSync(authority, { recursive: true, force: true });
});

const RESULTS = {
  '/v1/results': resultList(DP_RESULT, HISTOGRAM_RESULT, MODEL_RESULT),
  '/v1/results/res-dp': DP_RESULT,
  '/v1/results/res-hist': HISTOGRAM_RESULT,
  '/v1/results/res-model': MODEL_RESULT,
  [`/v1/pipelines/${DP_PIPELINE.hash}`]: DP_PIPELINE,
  [`/v1/pipelines/${HISTOGRAM_PIPELINE.hash}`]: HISTOGRAM_PIPELINE,
};

describe('the public dashboard', () => {
  it('serves the page under a CSP that runs only its own script', async () => {
    const res = await fetch(`${app.url}/`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'self'( 'wasm-unsafe-eval')?;/);
    expect(csp).not.toContain("'unsafe-inline' ");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const js = await fetch(`${app.url}/dashboard.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('content-security-policy')).toBe(csp);
    // The public page loads its script and the chunks that imports statically; the keyring,
    // the pipeline checker, sealing and the chain client wait until a path needs them.
    const loaded = new Map<string, number>();
    const walk = async (path: string): Promise<void> => {
      if (loaded.has(path)) return;
      const r = await fetch(`${app.url}${path}`);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-security-policy')).toBe(csp);
      const text = await r.text();
      loaded.set(path, text.length);
      for (const m of text.matchAll(/(?:from|import)\s*"\.(\/dashboard-[\w-]+\.js)"/g))
        await walk(m[1] as string);
    };
    await walk('/dashboard.js');
    const bytes = [...loaded.values()].reduce((a, b) => a + b, 0);
    expect(bytes).toBeLessThan(400_000); // 1.14 MB in one file before the split
    expect((await fetch(`${app.url}/dashboard-nothere.js`)).status).toBe(404);
    for (const icon of ['/favicon.svg', '/favicon.ico']) {
      const r = await fetch(`${app.url}${icon}`);
      expect(r.status, icon).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/svg/);
    }
  });

  it('shows health and workers in words, and checks a worker attestation in the page', async () => {
    const { page, errors } = await openPage(browser, `${app.url}/`);
    await page.locator('#workers-body h3').waitFor();
    expect(await page.locator('#workers-body h3').innerText()).toMatch(
      /^worker-1\s*running\s*SIMULATED TEE$/,
    );
    const header = await page.locator('#health').innerText();
    expect(header).toMatch(/API\s+ok/);
    expect(header).not.toMatch(/ok ok/);
    expect(header).toContain('1 worker');
    const card = page.locator('#workers-body article');
    expect(await card.innerText()).not.toMatch(/simulated \(simulated\)/);
    await page.getByRole('button', { name: 'Check attestation of worker worker-1' }).click();
    await page.getByText('Evidence consistent').waitFor();
    expect(await page.locator('#signin').isVisible()).toBe(true); // datasets need a signature
    // An injected inline script does not run: the CSP allows only the page's own file.
    const ran = await page.evaluate(
      "(() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.append(s); return window.__inline; })()",
    );
    expect(ran).toBeUndefined();
    await screenshot(page, 'public-workers');
    expect(errors.filter((e) => !/Content Security Policy/.test(e))).toEqual([]);
    await page.context().close();
  });
});

describe('results', () => {
  it('labels DP outputs with mechanism, epsilon, delta and the real threshold, and groups bars by every key', async () => {
    const { page, errors } = await openPage(browser, `${app.url}/#result=res-dp`, {
      setup: (p) => serveApi(p, RESULTS),
    });
    const dp = page.locator('[data-dp]');
    await dp.waitFor();
    const text = await dp.innerText();
    expect(text).toContain('laplace mechanism');
    expect(text).toContain('ε = 0.5');
    expect(text).toContain('δ = 0');
    expect(text).toContain('126.4');
    const detail = page.locator('#result-detail');
    expect(await detail.innerText()).toContain(
      '3 groups suppressed (noisy count below the release threshold 126.4)',
    );
    expect(await detail.innerText()).not.toContain('fewer than 10 rows');
    // Both keys label the chart: a header per region and a legend for the age bands.
    const svg = detail.locator('svg.chart').first();
    expect(await svg.getAttribute('aria-label')).toBe('Bar chart of visits by region and age_band');
    const labels = await svg.locator('text').allTextContents();
    expect(labels).toEqual(
      expect.arrayContaining(['region north', 'region south', 'age_band = 18-40', 'age_band = 41-65']),
    );
    // People read numbers without float tails; the table keeps every row.
    expect(await detail.locator('table').innerText()).toContain('357,102.32');
    await screenshot(page, 'result-dp-grouped');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('draws histograms as histograms over their bins, not the year as a value', async () => {
    const { page, errors } = await openPage(browser, `${app.url}/#result=res-hist`, {
      setup: (p) => serveApi(p, RESULTS),
    });
    const hist = page.locator('#result-detail svg[aria-label^="Histogram of ldl_bins"]');
    await hist.first().waitFor();
    expect(await hist.count()).toBe(2);
    expect(await hist.first().getAttribute('aria-label')).toBe('Histogram of ldl_bins — year 2024');
    expect(await hist.first().locator('rect').count()).toBe(6);
    expect(await hist.nth(1).locator('rect').count()).toBe(5); // one suppressed bin
    const ticks = await hist.first().locator('text').allTextContents();
    expect(ticks).toEqual(expect.arrayContaining(['40', '300']));
    expect(await page.locator('#result-detail svg[aria-label^="Bar chart"]').count()).toBe(0);
    expect(await page.locator('#result-detail').innerText()).toContain('1 histogram cell(s) shown as ∅');
    await screenshot(page, 'result-histogram');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows model metrics apart from row counts, and offers CSV, JSON and weights', async () => {
    const { page, errors } = await openPage(browser, `${app.url}/#result=res-model`, {
      setup: (p) => serveApi(p, RESULTS),
    });
    const chart = page.locator('#result-detail .metrics-chart svg');
    await chart.waitFor();
    const labels = await chart.locator('text').allTextContents();
    expect(labels).toEqual(expect.arrayContaining(['accuracy', 'auc']));
    expect(labels).not.toContain('rows_train');
    expect(await page.locator('#result-detail dl').last().innerText()).toMatch(/rows train\s+8,000/);
    const download = page.waitForEvent('download');
    await page.getByText('Download CSV').click();
    const csv = readFileSync((await (await download).path()) as string, 'utf8');
    expect(csv).toBe(
      'metric,value\naccuracy,0.8125\nauc,0.874\nepochs,30\nrows_train,8000\nrows_validation,2000\n',
    );
    const weights = page.waitForEvent('download');
    await page.getByText('Download model weights').click();
    const w = JSON.parse(readFileSync((await (await weights).path()) as string, 'utf8')) as {
      format: string;
    };
    expect(w.format).toBe('tfjs-layers');
    await screenshot(page, 'result-model');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('follows the address bar: opening results, then back and forward', async () => {
    const { page, errors } = await openPage(browser, `${app.url}/`, { setup: (p) => serveApi(p, RESULTS) });
    const heading = page.locator('#h-result');
    await page.getByRole('button', { name: 'Open result res-dp' }).click();
    await page.locator('#h-result', { hasText: 'res-dp' }).waitFor();
    expect(page.url()).toMatch(/#result=res-dp$/);
    await page.getByRole('button', { name: 'Open result res-hist' }).click();
    await page.locator('#h-result', { hasText: 'res-hist' }).waitFor();
    await page.goBack();
    await page.locator('#h-result', { hasText: 'res-dp' }).waitFor();
    await page.goForward();
    await page.locator('#h-result', { hasText: 'res-hist' }).waitFor();
    await page.goBack();
    await page.goBack();
    await page.locator('#h-result').waitFor({ state: 'detached' });
    expect(await heading.count()).toBe(0);
    // Typing a link into the address bar of an open page shows it too.
    await page.evaluate("location.hash = '#result=res-model'");
    await page.locator('#h-result', { hasText: 'res-model' }).waitFor();
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
