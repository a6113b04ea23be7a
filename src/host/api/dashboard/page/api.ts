/**
 * The page's access to the /v1 JSON API (same origin only): reads and writes, signed by the
 * signer the user signed in with (src/host/api/dashboard/page/signin.ts) when there is one,
 * and errors as one line with the API's stable code.
 */
import { $, short, str } from './dom.ts';

/** An API answer that was not a success: the problem's detail and its stable code. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * Adds the signature headers for one request (the key stays in the page). A `null` body is
 * an upload whose content the signed manifest binds: signed as UNSIGNED-PAYLOAD.
 */
export type Signer = {
  account: string;
  headers(
    method: string,
    pathWithQuery: string,
    body: string | undefined | null,
  ): Promise<Record<string, string>>;
};

let signer: Signer | null = null;
/** Sign every later request with `s` (null: signed out). */
export function setSigner(s: Signer | null): void {
  signer = s;
}
/** The account signed in, if any. */
export const signedInAccount = (): string | null => signer?.account ?? null;

/** A JSON object from the API (fields read with care: the page trusts no shape). */
export type Json = Record<string, unknown>;

/** Send one signed request and parse its JSON answer; throws ApiError. The page's only fetch. */
async function send(path: string, method: string, body: string | FormData | undefined): Promise<Json> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (typeof body === 'string') headers['content-type'] = 'application/json';
  // A form is an upload: its sealed file is bound by the signed manifest inside it.
  if (signer)
    Object.assign(headers, await signer.headers(method, path, body instanceof FormData ? null : body));
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body, cache: 'no-store' });
  } catch {
    throw new ApiError(`cannot reach the API host for ${path} (network_error)`);
  }
  // Signed by `obscura dashboard` (its proxy names the account); a key read in the page says so itself.
  const signedAs = signer ? null : res.headers.get('obscura-signed-as');
  $('whoami').textContent = signedAs ? `signed in as ${short(signedAs, 12)}` : '';
  const raw = await res.text();
  let parsed: unknown = null;
  try {
    parsed = raw ? JSON.parse(raw) : null;
  } catch {
    parsed = null;
  }
  if (!res.ok) {
    const p = (parsed && typeof parsed === 'object' ? parsed : {}) as Json;
    const code = str(p.code || `http_${res.status}`);
    throw new ApiError(`${str(p.detail || p.title || `HTTP ${res.status} for ${path}`)} (${code})`, code);
  }
  if (parsed === null || typeof parsed !== 'object')
    throw new ApiError(`${path} did not return JSON (bad_response)`);
  return parsed as Json;
}

/** Call the API; `body` is sent as JSON. Resolves to the parsed object, or throws ApiError. */
export async function api<T = Json>(path: string, method = 'GET', body?: unknown): Promise<T> {
  return (await send(path, method, body === undefined ? undefined : JSON.stringify(body))) as T;
}

/**
 * Upload a sealed dataset: multipart `form` (the signed manifest, then the sealed file as a
 * Blob the browser streams from its blob store). Resolves to the API's answer, or throws ApiError.
 */
export function apiUpload(path: string, form: FormData): Promise<Json> {
  return send(path, 'POST', form);
}

/** Every item of a paged list route: follows `next` until the last page. */
export async function apiList<T>(path: string, field: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page: Json = await api(
      `${path}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    const got = page[field];
    if (Array.isArray(got)) items.push(...(got as T[]));
    cursor = typeof page.next === 'string' && page.next ? page.next : null;
  } while (cursor);
  return items;
}

/**
 * What a failed action says on the page: the error's message (an API error's is the problem's
 * detail), or the thrown value itself when it is not an error.
 */
export function errorText(e: unknown): string {
  return str((e as { message?: unknown } | null)?.message ?? e);
}

/** Show an error on the page's error line. */
export function showError(where: string, e: unknown): void {
  const msg =
    e instanceof ApiError
      ? e.message
      : `${str((e as { message?: unknown } | null)?.message) || str(e)} (client_error)`;
  $('error-text').textContent = `${where}: ${msg}`;
  $('error').hidden = false;
}
