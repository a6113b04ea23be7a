/**
 * The dashboard's files as the API host (src/host/api/app.ts) and `obscura dashboard`
 * (src/cli/dashboard-proxy.ts) serve them: the page, its script bundled from page/*.ts by
 * esbuild (once per process, on first request: the same esbuild `npm run build` uses), the
 * favicon, and the Content-Security-Policy header that lets the page run only its own script,
 * talk only to its own origin, and load nothing from elsewhere.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const HERE = new URL('./', import.meta.url);

/** The page's policy: its own script (and WebAssembly, for sr25519 signing), inline styles, same-origin requests. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers for every dashboard file. */
export const DASHBOARD_HEADERS: Record<string, string> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** The dashboard's files by URL path, with their content types. */
export type DashboardFile = { type: string; body: string };

let bundled: Promise<string> | undefined;
/** The page's script: page/main.ts (or the compiled main.js under dist/) and what it imports, as one module. */
export function dashboardScript(): Promise<string> {
  bundled ??= (async () => {
    const ts = fileURLToPath(new URL('page/main.ts', HERE));
    const entry = existsSync(ts) ? ts : fileURLToPath(new URL('page/main.js', HERE));
    const out = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      legalComments: 'none',
      logLevel: 'silent',
    });
    return out.outputFiles[0]?.text ?? '';
  })();
  return bundled;
}

/** The dashboard file at `path` (`/`, `/dashboard.js`, `/favicon.svg`, `/favicon.ico`), or undefined. */
export async function dashboardFile(path: string): Promise<DashboardFile | undefined> {
  if (path === '/' || path === '/index.html')
    return { type: 'text/html; charset=utf-8', body: readFileSync(new URL('index.html', HERE), 'utf8') };
  if (path === '/dashboard.js')
    return { type: 'text/javascript; charset=utf-8', body: await dashboardScript() };
  if (path === '/favicon.svg' || path === '/favicon.ico')
    return { type: 'image/svg+xml', body: readFileSync(new URL('favicon.svg', HERE), 'utf8') };
  return undefined;
}
