/**
 * The signed-in dashboard: a small HTTP server on the user's own machine (127.0.0.1 only)
 * that serves the dashboard page the API host serves, and forwards the page's GETs under
 * /v1 to the API, signing each with the user's account key, which stays in this process.
 * It is trusted because it runs where the key does; the host never sees the key.
 *
 * It forwards reads only (GET), so no page can make it sign a write, and it answers only
 * requests addressed to its own loopback address (the Host header), so a web page that
 * rebinds its domain name to 127.0.0.1 cannot read through it.
 *
 * A result's outputs come from the host sealed to their readers; the proxy decrypts them
 * with the user's key (checked against the hashes the enclave signed) and adds them to the
 * document as `opened`, so the page can draw them. They exist in the clear only here and
 * in the user's browser.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isObscuraError, ObscuraError } from '../common/errors.ts';
import { documentOutputs, parseResultDocument, type ResultReaderKey } from '../provenance/document.ts';
import type { ObscuraClient as ApiClient } from '../client/client.ts';
import { DASHBOARD_HEADERS, dashboardFile } from '../host/api/dashboard/assets.ts';

/** Response header naming the account the proxy signs as (the page shows it). */
export const SIGNED_AS_HEADER = 'obscura-signed-as';

/** A running dashboard proxy. */
export interface DashboardProxy {
  url: string;
  server: Server;
  close(): Promise<void>;
}

function problem(res: ServerResponse, status: number, code: string, detail: string): void {
  res.writeHead(status, { 'content-type': 'application/problem+json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ type: 'about:blank', title: code, status, code, detail }));
}

const RESULT_PATH = /^\/v1\/results\/[^/?#]+(\?.*)?$/;

/**
 * A result document with its outputs opened for `reader`: `opened.outputs` (the tables), or
 * `opened.error` saying why not (not a reader, or a ciphertext that does not match).
 */
async function openResult(body: Buffer, reader: ResultReaderKey): Promise<Buffer> {
  let doc: ReturnType<typeof parseResultDocument>;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    doc = parseResultDocument(raw);
  } catch {
    return body; // not a result document: the page shows it as the API sent it
  }
  try {
    const outputs = await documentOutputs(doc, reader);
    return Buffer.from(JSON.stringify({ ...raw, opened: { outputs } }));
  } catch (e) {
    if (!isObscuraError(e)) throw e;
    return Buffer.from(JSON.stringify({ ...raw, opened: { error: { code: e.code, message: e.message } } }));
  }
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  api: ApiClient,
  allowedHosts: Set<string>,
  reader: ResultReaderKey | undefined,
): Promise<void> {
  if (!allowedHosts.has(req.headers.host ?? ''))
    return problem(
      res,
      403,
      'host_not_allowed',
      'this dashboard answers only requests to its own loopback address',
    );
  const url = req.url ?? '/';
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return problem(res, 405, 'method_not_allowed', 'the dashboard proxy forwards reads (GET) only');
  const file = await dashboardFile(url.replace(/[?#].*$/, ''));
  if (file) {
    res.writeHead(200, { ...DASHBOARD_HEADERS, 'content-type': file.type });
    res.end(req.method === 'HEAD' ? undefined : file.body);
    return;
  }
  if (!url.startsWith('/v1/')) return problem(res, 404, 'not_found', `no route for ${url}`);
  const upstream = await api.fetchSigned(url);
  let body: Buffer = Buffer.from(await upstream.arrayBuffer());
  if (reader && upstream.ok && RESULT_PATH.test(url)) body = await openResult(body, reader);
  res.writeHead(upstream.status, {
    'content-type': upstream.headers.get('content-type') ?? 'application/json',
    'cache-control': 'no-store',
    ...(api.account ? { [SIGNED_AS_HEADER]: api.account } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Start the proxy on 127.0.0.1:`port` (0: any free port), signing with `api`'s key and opening results for `reader` (the same key). */
export async function startDashboardProxy(
  api: ApiClient,
  port: number,
  reader?: ResultReaderKey,
): Promise<DashboardProxy> {
  const allowedHosts = new Set<string>();
  const server = createServer((req, res) => {
    handle(req, res, api, allowedHosts, reader).catch((e: unknown) => {
      const err =
        e instanceof ObscuraError
          ? e
          : new ObscuraError('proxy_failed', 'the dashboard proxy could not forward this request', 502);
      if (!res.headersSent) problem(res, err.status, err.code, err.message);
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new ObscuraError('dashboard_port_in_use', `port ${port} is already in use (use --port)`, 503)
          : e,
      ),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as { port: number }).port;
  for (const h of [`127.0.0.1:${actual}`, `localhost:${actual}`]) allowedHosts.add(h);
  return {
    url: `http://127.0.0.1:${actual}/`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
