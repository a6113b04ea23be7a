/**
 * The CLI's HTTP client for the REST API: signs requests with the caller's account key and
 * turns problem+json answers into ObscuraErrors, so every command fails with one line.
 */
import { createHash } from 'node:crypto';
import { ObscuraError, type HttpStatus } from '../common/errors.ts';
import {
  HEADER_ACCOUNT,
  HEADER_BODY,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  requestSigningBytes,
  UNSIGNED_PAYLOAD,
} from '../host/api/auth.ts';
import { ProblemSchema } from '../host/api/problem.ts';
import { env } from '../common/env.ts';
import { type AccountKey, loadAccountKey } from '../crypto/index.ts';

let lastTimestamp = 0;

/**
 * A timestamp for a new request, never the same twice in this process: the host refuses a
 * second request with the same signed message as a replay, and two identical reads may
 * leave within one millisecond.
 */
function nextTimestamp(): string {
  lastTimestamp = Math.max(Date.now(), lastTimestamp + 1);
  return String(lastTimestamp);
}

/** The key file a command signs with: its --key flag, else OBSCURA_KEY; undefined when neither is set. */
export async function commandKey(flag: string | undefined): Promise<AccountKey | undefined> {
  const path = flag ?? env().OBSCURA_KEY;
  return path === undefined ? undefined : loadAccountKey(path);
}

/** An API client that signs with the command's key (--key, else OBSCURA_KEY) when one is given. */
export async function clientFor(api: string, keyFlag: string | undefined): Promise<ApiClient> {
  return new ApiClient(api, await commandKey(keyFlag));
}

/** A client for one API base URL, signing as an account when given one (unsigned: public routes and items only). */
export class ApiClient {
  constructor(
    readonly base: string,
    private readonly key?: AccountKey,
  ) {}

  /** Whether this client signs its requests. */
  get signed(): boolean {
    return this.key !== undefined;
  }

  private signedHeaders(method: string, path: string, bodyHash: string): Record<string, string> {
    if (!this.key) return {};
    const timestamp = nextTimestamp();
    return {
      [HEADER_ACCOUNT]: this.key.address,
      [HEADER_TIMESTAMP]: timestamp,
      [HEADER_SIGNATURE]: this.key.sign(requestSigningBytes(method, path, timestamp, bodyHash)),
      ...(bodyHash === UNSIGNED_PAYLOAD ? { [HEADER_BODY]: UNSIGNED_PAYLOAD } : {}),
    };
  }

  /** The signer's address, if this client signs. */
  get account(): string | undefined {
    return this.key?.address;
  }

  /** A signed GET whose answer is returned as it came (status, headers, body): for the dashboard proxy. */
  async fetchSigned(path: string): Promise<Response> {
    const headers = {
      accept: 'application/json',
      ...this.signedHeaders('GET', path, createHash('sha256').update('').digest('hex')),
    };
    try {
      return await fetch(new URL(path, this.base), { method: 'GET', headers });
    } catch (e) {
      throw new ObscuraError(
        'api_unreachable',
        `cannot reach the Obscura API at ${this.base} (is \`npm start\` running?)`,
        503,
        undefined,
        { cause: e },
      );
    }
  }

  private async send(
    method: string,
    path: string,
    body?: { json?: unknown; form?: FormData },
  ): Promise<unknown> {
    let payload: string | FormData | undefined;
    let bodyHash = createHash('sha256').update('').digest('hex');
    const headers: Record<string, string> = {};
    if (body?.json !== undefined) {
      payload = JSON.stringify(body.json);
      bodyHash = createHash('sha256').update(payload).digest('hex');
      headers['content-type'] = 'application/json';
    } else if (body?.form) {
      payload = body.form;
      bodyHash = UNSIGNED_PAYLOAD;
    }
    let res: Response;
    try {
      res = await fetch(new URL(path, this.base), {
        method,
        headers: { ...headers, ...this.signedHeaders(method, path, bodyHash) },
        body: payload ?? null,
      });
    } catch (e) {
      throw new ObscuraError(
        'api_unreachable',
        `cannot reach the Obscura API at ${this.base} (is \`npm start\` running?)`,
        503,
        undefined,
        { cause: e },
      );
    }
    const text = await res.text();
    if (!res.ok) {
      let problem: ReturnType<typeof ProblemSchema.safeParse> | undefined;
      try {
        problem = ProblemSchema.safeParse(JSON.parse(text));
      } catch {
        problem = undefined;
      }
      if (problem?.success) {
        if (res.status === 401 && problem.data.code === 'unauthenticated' && !this.key) {
          throw new ObscuraError(
            'key_required',
            'the API answers this only to a reader it can identify: give --key <key file> or set OBSCURA_KEY',
            401,
          );
        }
        throw new ObscuraError(
          problem.data.code,
          problem.data.detail,
          res.status as HttpStatus,
          problem.data.details,
        );
      }
      throw new ObscuraError(
        'api_error',
        `the API answered ${res.status} ${res.statusText}`,
        res.status as HttpStatus,
      );
    }
    return text ? JSON.parse(text) : undefined;
  }

  /** GET a path under the base URL. */
  get(path: string): Promise<unknown> {
    return this.send('GET', path);
  }

  /** POST JSON (signed). */
  post(path: string, json: unknown): Promise<unknown> {
    return this.send('POST', path, { json });
  }

  /** DELETE a path (signed). */
  delete(path: string): Promise<unknown> {
    return this.send('DELETE', path);
  }

  /** POST multipart form data (signed with UNSIGNED-PAYLOAD). */
  postForm(path: string, form: FormData): Promise<unknown> {
    return this.send('POST', path, { form });
  }
}
