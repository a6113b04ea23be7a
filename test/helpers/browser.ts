/**
 * A real browser for the dashboard's tests: Debian's chromium (installed by .ci/run with apt;
 * Playwright's own browser download cannot work offline) driven by playwright-core, headless.
 * Each page records what it sent (to show a key never left it), its console errors and
 * uncaught exceptions, and any `window.__xss` an injected script would set; screenshots go to
 * test-artifacts/ (git-ignored), kept after the run for a person to look at.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page, type Request } from 'playwright-core';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';

/** Where chromium is (CHROMIUM_PATH overrides Debian's /usr/bin/chromium). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where screenshots are saved. */
export const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts');

/** Start headless chromium (no sandbox: CI runs as root in a container). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** A page and what it did. */
export interface WatchedPage {
  page: Page;
  /** Every request the page made: URL, method, headers and body. */
  requests: { url: string; method: string; headers: Record<string, string>; body: string }[];
  /** Console errors, uncaught exceptions and CSP violations. */
  errors: string[];
}

/** A new page (own context: no shared storage) at `url`, watched; `setup` runs before it loads (routes). */
export async function openPage(
  browser: Browser,
  url: string,
  opts: { width?: number; setup?: (page: Page) => Promise<void> } = {},
): Promise<WatchedPage> {
  const width = opts.width ?? 1280;
  const context = await browser.newContext({ viewport: { width, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const watched: WatchedPage = { page, requests: [], errors: [] };
  page.on('request', (r: Request) =>
    watched.requests.push({
      url: r.url(),
      method: r.method(),
      headers: r.headers(),
      body: r.postData() ?? '',
    }),
  );
  page.on('console', (m) => {
    // A refused read (401 before sign-in) is logged by chromium too; the page shows it itself.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
      watched.errors.push(m.text());
  });
  page.on('pageerror', (e) => watched.errors.push(String(e)));
  await opts.setup?.(page);
  await page.goto(url);
  return watched;
}

/** Save a screenshot (the full page unless `fullPage` is false) as test-artifacts/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}
