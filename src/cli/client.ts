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
} from '../api/auth.ts';
import { ProblemSchema } from '../api/problem.ts';
import type { AccountKey } from '../crypto/index.ts';

/** A client for one API base URL, optionally signing as an account. */
export class ApiClient {
  constructor(
    readonly base: string,
    private readonly key?: AccountKey,
  ) {}

  private signedHeaders(method: string, path: string, bodyHash: string): Record<string, string> {
    if (!this.key) return {};
    const timestamp = String(Date.now());
    return {
      [HEADER_ACCOUNT]: this.key.address,
      [HEADER_TIMESTAMP]: timestamp,
      [HEADER_SIGNATURE]: this.key.sign(requestSigningBytes(method, path, timestamp, bodyHash)),
      ...(bodyHash === UNSIGNED_PAYLOAD ? { [HEADER_BODY]: UNSIGNED_PAYLOAD } : {}),
    };
  }

  private async send(method: string, path: string, body?: { json?: unknown; form?: FormData }): Promise<unknown> {
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
      res = await fetch(new URL(path, this.base), { method, headers: { ...headers, ...this.signedHeaders(method, path, bodyHash) }, body: payload ?? null });
    } catch (e) {
      throw new ObscuraError('api_unreachable', `cannot reach the Obscura API at ${this.base} (is \`npm start\` running?)`, 503, undefined, { cause: e });
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
        throw new ObscuraError(problem.data.code, problem.data.detail, res.status as HttpStatus, problem.data.details);
      }
      throw new ObscuraError('api_error', `the API answered ${res.status} ${res.statusText}`, res.status as HttpStatus);
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

  /** POST multipart form data (signed with UNSIGNED-PAYLOAD). */
  postForm(path: string, form: FormData): Promise<unknown> {
    return this.send('POST', path, { form });
  }
}
