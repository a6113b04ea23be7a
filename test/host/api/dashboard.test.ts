/**
 * Static checks of the dashboard's files (src/host/api/dashboard/): the page loads nothing
 * but its own script and icon, the script's sources insert data only as text and reach the
 * API through one fetch, and every file stays small. What the page does is tested in a real
 * browser (dashboard-browser.test.ts); how it is served, there too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const DIR = new URL('../../../src/host/api/dashboard/', import.meta.url);
const html = readFileSync(new URL('index.html', DIR), 'utf8');
const sources = readdirSync(new URL('page/', DIR))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => ({ f, code: readFileSync(new URL(`page/${f}`, DIR), 'utf8') }));
const code = sources.map((s) => s.code).join('\n');

describe('dashboard page', () => {
  it('is one HTML document with a header comment, language and viewport', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toMatch(/<!--[\s\S]*Obscura dashboard[\s\S]*?-->/);
    expect(html).toMatch(/<html lang="en">/);
    expect(html).toMatch(/<meta name="viewport" content="width=device-width/);
  });

  it('loads only its own script and icon, from its own origin', () => {
    const attrs = [...html.matchAll(/\b(?:src|href|action|srcset|poster)\s*=\s*"([^"]*)"/gi)].map(
      (m) => m[1],
    );
    for (const v of attrs) expect(v, v).toMatch(/^(?:#|\/)(?!\/)/);
    expect([...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].map((m) => [m[1], m[2]])).toEqual([
      [' type="module" src="/dashboard.js"', ''],
    ]);
    expect(html).toContain('<link rel="icon" href="/favicon.svg"');
    expect(html).not.toMatch(/@import|url\(|@font-face/i);
    // The only absolute URL in the sources is the SVG namespace name (never fetched).
    const urls = [...code.matchAll(/\b(?:https?|wss?|ftp):\/\/[^\s"'`)<]+/gi)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']));
  });

  it('inserts data as text only, and calls the API in one place', () => {
    expect(code).not.toMatch(/\.(?:innerHTML|outerHTML)\s*\+?=/);
    expect(code).not.toMatch(
      /insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|\beval\s*\(|new Function/,
    );
    expect(code.match(/\bfetch\(/g)).toHaveLength(1);
    expect(sources.find((s) => /\bfetch\(/.test(s.code))?.f).toBe('api.ts');
  });

  it('keeps every file under 400 lines', () => {
    expect(html.split('\n').length).toBeLessThan(400);
    for (const s of sources) expect(s.code.split('\n').length, s.f).toBeLessThan(400);
  });
});
