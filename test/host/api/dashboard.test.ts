/**
 * Static checks of the dashboard page (src/host/api/dashboard/index.html): it is self-contained
 * (no external scripts, styles, fonts or images), inserts data only as text, its module
 * script parses, it reads every endpoint it is meant to show, and it says how to sign in
 * (`obscura dashboard`, tested in test/cli/dashboard.test.ts) where a read needs a signature.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const html = readFileSync(new URL('../../../src/host/api/dashboard/index.html', import.meta.url), 'utf8');
const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
const style = [...html.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>/gi)].map((m) => m[1]).join('\n');
const code = scripts.map((m) => m[2]).join('\n');

describe('dashboard page', () => {
  it('is one HTML document with a header comment, language and viewport', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toMatch(/<!--[\s\S]*Obscura dashboard[\s\S]*?-->/);
    expect(html).toMatch(/<html lang="en">/);
    expect(html).toMatch(/<meta name="viewport" content="width=device-width/);
    expect(html.split('\n').length).toBeLessThan(600);
  });

  it('loads nothing from other hosts', () => {
    // src/href/action/srcset attributes, in markup or set from script.
    const attrs = [
      ...html.matchAll(/\b(?:src|href|action|srcset|poster)\s*[=:]\s*["'`]([^"'`]*)["'`]/gi),
    ].map((m) => m[1]);
    expect(attrs.length).toBeGreaterThan(0);
    for (const v of attrs) expect(v, v).not.toMatch(/^\s*(?:[a-z][\w+.-]*:)?\/\//i);
    // The only absolute URL anywhere in the file is the SVG namespace name (never fetched).
    const urls = [...html.matchAll(/\b(?:https?|wss?|ftp):\/\/[^\s"'`)<]+/gi)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']));
    expect(html).not.toMatch(/<script\b[^>]*\bsrc\s*=/i);
    expect(html).not.toMatch(/<link\b[^>]*rel=["']?(?:stylesheet|preload|icon|import)/i);
    expect(style).not.toMatch(/@import|url\(|@font-face/i);
    expect(code).not.toMatch(/\bimport\s*(?:\(|["'{*\w])/); // no module imports
  });

  it('inserts data as text only', () => {
    expect(code).not.toMatch(/\.(?:innerHTML|outerHTML)\s*\+?=/);
    expect(code).not.toMatch(
      /insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|\beval\s*\(|new Function/,
    );
    expect(code).toMatch(/textContent/);
    expect(code).toMatch(/createElement\(/);
  });

  it('has exactly one inline module script that parses', () => {
    expect(scripts).toHaveLength(1);
    expect(scripts[0]?.[1]).toMatch(/type="module"/);
    const out = ts.transpileModule(code, {
      reportDiagnostics: true,
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, allowJs: true },
      fileName: 'dashboard.js',
    });
    const messages = (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(messages).toEqual([]);
  });

  it('reads every endpoint it shows', () => {
    const endpoints: [string, RegExp][] = [
      ['health', /'\/v1\/health'/],
      ['OpenAPI link', /href="\/v1\/openapi\.json"/],
      ['workers', /'\/v1\/workers'/],
      ['attestation', /`\/v1\/workers\/\$\{encodeURIComponent\([^)]+\)\}\/attestation\?nonce=\$\{nonce\}`/],
      ['datasets', /'\/v1\/datasets'/],
      ['pipelines', /'\/v1\/pipelines'/],
      ['jobs', /'\/v1\/jobs'/],
      ['results', /'\/v1\/results'/],
      ['one result', /`\/v1\/results\/\$\{encodeURIComponent\(id\)\}`/],
      ['provenance', /`\/v1\/results\/\$\{encodeURIComponent\(id\)\}\/provenance`/],
    ];
    for (const [name, pattern] of endpoints) expect(html, name).toMatch(pattern);
    // Only GETs: one fetch call site, with no method and no body.
    expect(code.match(/\bfetch\(/g)).toHaveLength(1);
    expect(code).not.toMatch(/\bmethod\s*:/);
  });

  it('says how to sign in where a read needs a signature, and who it is signed in as', () => {
    expect(html).toMatch(
      /<p id="signin" class="note" hidden>[^<]*<code>obscura dashboard --key YOUR\.key<\/code>/,
    );
    expect(code).toMatch(/e\.code === 'unauthenticated'/);
    expect(code).toMatch(/\$\('signin'\)\.hidden = false/);
    expect(code).toMatch(/res\.headers\.get\('obscura-signed-as'\)/);
  });

  it('checks attestations with a fresh 32-byte nonce and flags simulated TEEs', () => {
    expect(code).toContain('crypto.getRandomValues(new Uint8Array(32))');
    expect(code).toMatch(/rep\.nonce === nonce/);
    expect(code).toMatch(/rep\.measurement === w\.measurement/);
    expect(html).toContain('SIMULATED TEE');
  });

  it('polls jobs every 2 s while any is queued or running, and shows problem details', () => {
    expect(code).toMatch(/setTimeout\(loadJobs, 2000\)/);
    expect(code).toMatch(/'queued'/);
    expect(code).toMatch(/'running'/);
    expect(code).toMatch(/p\.detail/);
    expect(code).toMatch(/p\.code/);
    expect(html).toMatch(/role="alert"/);
  });

  it('is accessible: headings, table headers, labelled buttons', () => {
    expect(html).toMatch(/<h1>/);
    expect((html.match(/<h2\b/g) ?? []).length).toBeGreaterThanOrEqual(5);
    expect(code).toMatch(/h\('th', \{ scope: 'col' \}/);
    expect(code).toMatch(/'aria-label': `Check attestation of worker/);
    expect(code).toMatch(/h\('label', \{ for: id \}/);
  });
});
