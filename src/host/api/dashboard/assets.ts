/**
 * The dashboard's files as the API host (src/host/api/app.ts) and `obscura dashboard`
 * (src/cli/dashboard-proxy.ts) serve them: the page, its scripts bundled from page/*.ts by
 * esbuild (once per process, on first request: the same esbuild `npm run build` uses), the
 * favicon, and the Content-Security-Policy header that lets the page run only its own script,
 * talk only to its own origin, and load nothing from elsewhere.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const HERE = new URL('./', import.meta.url);

/**
 * The page's policy: its own script (and WebAssembly, for sr25519 signing), inline styles,
 * same-origin requests, and WebSocket connections (to a chain the reader names).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'unsafe-inline'",
  // WebSockets anywhere: a reader checks a result's anchor on the chain endpoint they choose.
  "connect-src 'self' ws: wss:",
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

/**
 * Node's modules in the browser. The page bundles the project's own modules (request
 * signing, the pipeline checker, statement signing) and some of them import Node built-ins
 * or native packages for paths the page never takes (reading key files, running DuckDB).
 * `node:crypto` is page/node-crypto.ts (SHA-256, random bytes), `node:buffer` is
 * page/buffer-shim.ts (Buffer's basics and isUtf8); the rest of node:crypto, and every
 * other such import, is a stand-in whose every export throws if called, so a path the page
 * was not meant to take fails loudly instead of silently doing something else.
 */
const NODE_ONLY = /^node:|^@duckdb\/|^@tensorflow\/|^better-sqlite3$|^apache-arrow|^hyparquet|^ws$|^busboy$/;
// The stand-in's exports are found through its prototype: esbuild's interop copies a
// CommonJS module's own properties and keeps its prototype, so any name resolves there.
const STAND_IN = (
  has: string,
) => `const fail = (name) => function () { throw new Error('not available in the browser: ' + name); };
const has = ${has};
module.exports = Object.create(new Proxy({}, { get: (_, k) => (typeof k !== 'string' || k === 'then' || k === '__esModule' ? undefined : k in has ? has[k] : fail(k)) }));`;
function browserShims(shim: string, bufferShim: string): Plugin {
  return {
    name: 'browser-shims',
    setup(b) {
      b.onResolve({ filter: /^node:crypto$/ }, (a) => ({ path: a.path, namespace: 'node-crypto' }));
      b.onResolve({ filter: /^node:buffer$/ }, () => ({ path: bufferShim }));
      // zod's namespace re-exports every locale (about 300 KB minified); the page speaks English.
      b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (a) =>
        /[\\/]zod[\\/]v4[\\/]/.test(a.importer)
          ? { path: join(a.resolveDir, '../locales/en.js'), namespace: 'zod-locales' }
          : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (a) => ({
        contents: `export { default as en } from ${JSON.stringify(a.path)};`,
        loader: 'js',
        resolveDir: dirname(a.path),
      }));
      b.onResolve({ filter: NODE_ONLY }, (a) => ({ path: a.path, namespace: 'node-only' }));
      b.onLoad({ filter: /.*/, namespace: 'node-only' }, () => ({ contents: STAND_IN('{}'), loader: 'js' }));
      // What the shim has, else the stand-in's throwing function (age's ciphers, key objects).
      b.onLoad({ filter: /.*/, namespace: 'node-crypto' }, () => ({
        contents: STAND_IN(`require(${JSON.stringify(shim)})`),
        loader: 'js',
        resolveDir: dirname(shim),
      }));
    },
  };
}

/** A file of page/: the TypeScript source, or its compiled JavaScript under dist/. */
function pageFile(name: string): string {
  const ts = fileURLToPath(new URL(`page/${name}.ts`, HERE));
  return existsSync(ts) ? ts : fileURLToPath(new URL(`page/${name}.js`, HERE));
}

/** A page script's URL path: the entry `/dashboard.js`, or a chunk it loads when needed. */
export const DASHBOARD_SCRIPT_PATH = /^\/dashboard(?:-[A-Za-z0-9_-]+)?\.js$/;

let bundled: Promise<Map<string, string>> | undefined;
/**
 * The page's scripts by URL path: page/main.ts (or the compiled main.js under dist/) as
 * `/dashboard.js`, and the chunks it imports only when a path needs them (signing in and what
 * only a signed-in user does; the chain check with @polkadot/api), so the public page loads
 * a fraction of the code. Built once per process.
 */
export function dashboardScripts(): Promise<Map<string, string>> {
  bundled ??= (async () => {
    const out = await build({
      entryPoints: { dashboard: pageFile('main') },
      plugins: [browserShims(pageFile('node-crypto'), pageFile('buffer-shim'))],
      inject: [pageFile('buffer-shim')],
      bundle: true,
      splitting: true,
      outdir: '/',
      entryNames: '[name]',
      chunkNames: 'dashboard-[hash]',
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      legalComments: 'none',
      logLevel: 'silent',
    });
    return new Map(out.outputFiles.map((f) => [`/${basename(f.path)}`, f.text]));
  })();
  return bundled;
}

/** The dashboard file at `path` (`/`, `/dashboard.js` and its chunks, `/favicon.svg`, `/favicon.ico`), or undefined. */
export async function dashboardFile(path: string): Promise<DashboardFile | undefined> {
  if (path === '/' || path === '/index.html')
    return { type: 'text/html; charset=utf-8', body: readFileSync(new URL('index.html', HERE), 'utf8') };
  if (DASHBOARD_SCRIPT_PATH.test(path)) {
    const body = (await dashboardScripts()).get(path);
    return body === undefined ? undefined : { type: 'text/javascript; charset=utf-8', body };
  }
  if (path === '/favicon.svg' || path === '/favicon.ico')
    return { type: 'image/svg+xml', body: readFileSync(new URL('favicon.svg', HERE), 'utf8') };
  return undefined;
}
