/**
 * ObscuraClient: the TypeScript client of the REST API, used by the CLI, the dashboard
 * proxy and programs (`import { ObscuraClient } from 'obscura'`). It signs every request
 * with the caller's account key (src/contracts/request-signing.ts: account, timestamp,
 * sr25519 signature over method, path, timestamp and body hash), validates every answer with the API's own
 * schemas, and turns problem+json answers into ObscuraErrors with the API's stable codes.
 * Sealed results are opened here, on the reader's machine, with the key's result identity.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ObscuraError, type HttpStatus } from '../common/errors.ts';
import {
  HEADER_ACCOUNT,
  HEADER_BODY,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  requestSigningBytes,
  UNSIGNED_PAYLOAD,
} from '../contracts/request-signing.ts';
import { ProblemSchema } from '../contracts/problem.ts';
import {
  type DatasetBudget,
  DatasetBudgetSchema,
  type JobPreview,
  JobPreviewSchema,
} from '../contracts/api-schemas.ts';
import type { OutputTable } from '../contracts/result.ts';
import type { SignedJobRequest } from '../privacy/job-request.ts';
import { type HttpAnswer, sendHttp } from './http.ts';
import type { MultipartBody } from './multipart.ts';
import { type AccountKey, loadAccountKey } from '../crypto/index.ts';
import { documentOutputs, parseResultDocument } from '../provenance/document.ts';
import {
  type DatasetRecord,
  DatasetRecordSchema,
  type JobRecord,
  JobRecordSchema,
  type JobStatus,
  type PipelineRecord,
  PipelineRecordSchema,
  type ResultDocument,
} from '../contracts/api-records.ts';
import { type JobSubmissionInput, submitJob } from './job-request.ts';

let lastTimestamp = 0;

/** A FormData request through fetch, which encodes it, answered as sendHttp answers. */
async function fetchAnswer(
  url: URL,
  method: string,
  headers: Record<string, string>,
  form: FormData,
): Promise<HttpAnswer> {
  const res = await fetch(url, { method, headers, body: form });
  return { status: res.status, statusText: res.statusText, text: await res.text() };
}

/**
 * A timestamp for a new request, never the same twice in this process: the host refuses a
 * second request with the same signed message as a replay, and two identical reads may
 * leave within one millisecond.
 */
function nextTimestamp(): string {
  lastTimestamp = Math.max(Date.now(), lastTimestamp + 1);
  return String(lastTimestamp);
}

/** How waitForJob follows a job. */
export interface WaitOptions {
  /** Give up (job_wait_timeout) after this long; default 10 minutes. */
  timeoutMs?: number;
  /** Called with each new state of the job while it runs. */
  onProgress?: (job: JobRecord) => void;
  /** Return a failed or cancelled job instead of throwing its error. */
  settle?: boolean;
  /** Poll interval; default 300 ms. */
  intervalMs?: number;
}

const path = (...parts: string[]) => parts.map(encodeURIComponent).join('/');

/**
 * A client for one API base URL, signing as an account when given one (unsigned: public
 * routes and items only). Every method throws ObscuraError: the API's code and detail for a
 * refusal, 'api_unreachable' when the host cannot be reached.
 *
 * @example
 *   const client = await ObscuraClient.withKeyFile('http://127.0.0.1:8787', 'analyst.key');
 *   const job = await client.submitJob({ pipeline, inputs: { visits: datasetId } });
 *   const done = await client.waitForJob(job.id);
 *   const tables = await client.resultTables(done.result!);
 */
export class ObscuraClient {
  constructor(
    readonly base: string,
    private readonly key?: AccountKey,
  ) {}

  /** A client signing with the account key file at `keyFile` (made by `obscura keys new`). */
  static async withKeyFile(base: string, keyFile: string): Promise<ObscuraClient> {
    return new ObscuraClient(base, await loadAccountKey(keyFile));
  }

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

  /**
   * A signed GET whose answer is returned as it came (status, headers, body): for the
   * dashboard proxy, and for conditional requests (`extra` headers such as If-None-Match).
   */
  async fetchSigned(path: string, extra: Record<string, string> = {}): Promise<Response> {
    const headers = {
      accept: 'application/json',
      ...extra,
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
    body?: { json?: unknown; form?: FormData; stream?: MultipartBody },
  ): Promise<unknown> {
    let payload: string | undefined;
    let bodyHash = createHash('sha256').update('').digest('hex');
    const headers: Record<string, string> = {};
    if (body?.json !== undefined) {
      payload = JSON.stringify(body.json);
      bodyHash = createHash('sha256').update(payload).digest('hex');
      headers['content-type'] = 'application/json';
    } else if (body?.form) {
      bodyHash = UNSIGNED_PAYLOAD;
    } else if (body?.stream) {
      bodyHash = UNSIGNED_PAYLOAD;
      headers['content-type'] = body.stream.contentType;
      headers['content-length'] = String(body.stream.length);
    }
    let res: HttpAnswer;
    try {
      const url = new URL(path, this.base);
      const allHeaders = { ...headers, ...this.signedHeaders(method, path, bodyHash) };
      // A FormData body is encoded by fetch; everything else goes through node:http (http.ts).
      res = body?.form
        ? await fetchAnswer(url, method, allHeaders, body.form)
        : await sendHttp(url, method, allHeaders, body?.stream ? body.stream.body : payload);
    } catch (e) {
      throw new ObscuraError(
        'api_unreachable',
        `cannot reach the Obscura API at ${this.base} (is \`npm start\` running?)`,
        503,
        undefined,
        { cause: e },
      );
    }
    const { text } = res;
    const ok = res.status >= 200 && res.status < 300;
    if (!ok) {
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

  /** POST a streamed multipart body (multipart.ts): memory stays flat in the files' size. */
  postMultipart(path: string, stream: MultipartBody): Promise<unknown> {
    return this.send('POST', path, { stream });
  }

  /** The datasets this account may read (owned, or allowed to analyse): metadata only. */
  async datasets(): Promise<DatasetRecord[]> {
    return this.all('/v1/datasets', 'datasets', DatasetRecordSchema);
  }

  /** Every item of a list route, page after page (`limit`/`cursor`, until `next` is null). */
  private async all<T extends z.ZodType>(route: string, key: string, item: T): Promise<z.infer<T>[]> {
    const page = z.object({ [key]: z.array(item), next: z.string().nullable().optional() });
    const items: z.infer<T>[] = [];
    let cursor: string | null | undefined;
    do {
      const sep = route.includes('?') ? '&' : '?';
      const more = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const body = page.parse(await this.get(`${route}${sep}limit=500${more}`)) as Record<string, unknown>;
      items.push(...(body[key] as z.infer<T>[]));
      cursor = body['next'] as string | null | undefined;
    } while (cursor);
    return items;
  }

  /** One dataset's metadata and signed manifest. */
  async dataset(id: string): Promise<DatasetRecord> {
    return DatasetRecordSchema.parse(await this.get(`/v1/datasets/${path(id)}`));
  }

  /** A dataset's privacy budget: totals, spent, remaining, anchored spends. */
  async budget(datasetId: string): Promise<DatasetBudget> {
    return DatasetBudgetSchema.parse(await this.get(`/v1/datasets/${path(datasetId)}/budget`));
  }

  /** The pipelines this account may read. */
  async pipelines(): Promise<PipelineRecord[]> {
    return this.all('/v1/pipelines', 'pipelines', PipelineRecordSchema);
  }

  /** The jobs this account may read, newest first; `status` keeps one state. */
  async jobs(opts: { status?: JobStatus } = {}): Promise<JobRecord[]> {
    const query = opts.status === undefined ? '' : `?status=${opts.status}`;
    const jobs = await this.all(`/v1/jobs${query}`, 'jobs', JobRecordSchema);
    return jobs.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** One job: status, progress, result id once it succeeded. */
  async job(id: string): Promise<JobRecord> {
    return JobRecordSchema.parse(await this.get(`/v1/jobs/${path(id)}`));
  }

  /** What a submitted job reads, outputs and spends, and who must still approve it. */
  async preview(jobId: string): Promise<JobPreview> {
    return JobPreviewSchema.parse(await this.get(`/v1/jobs/${path(jobId)}/preview`));
  }

  /**
   * Every check and the privacy cost of a job, without creating it or touching data. With the
   * analyst's signed request, datasets of other nodes are located too (and named in the answer).
   */
  async dryRun(job: JobSubmissionInput & { request?: SignedJobRequest }): Promise<JobPreview> {
    return JobPreviewSchema.parse(await this.post('/v1/jobs?dry_run=true', job));
  }

  /** Sign this account's job request (pipeline, datasets, purpose) and submit the job. */
  async submitJob(job: JobSubmissionInput): Promise<JobRecord> {
    if (!this.key)
      throw new ObscuraError('key_required', 'submitting a job needs the analyst key that signs it', 401);
    return JobRecordSchema.parse(await submitJob(this, this.key, job));
  }

  /** Cancel a queued or running job this account submitted. */
  async cancelJob(id: string): Promise<JobRecord> {
    return JobRecordSchema.parse(await this.delete(`/v1/jobs/${path(id)}`));
  }

  /**
   * Poll a job until it ends. Returns it when it succeeded; throws its error code (or
   * 'job_cancelled') unless `settle`; throws 'job_wait_timeout' when time runs out (a job
   * waiting for approval keeps waiting until then).
   */
  async waitForJob(id: string, opts: WaitOptions = {}): Promise<JobRecord> {
    const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
    for (;;) {
      const job = await this.job(id);
      opts.onProgress?.(job);
      if (job.status === 'succeeded') return job;
      if (job.status === 'failed' || job.status === 'cancelled') {
        if (opts.settle) return job;
        const ended = job.status === 'cancelled' ? 'was cancelled' : 'failed';
        throw new ObscuraError(
          job.error?.code ?? 'job_failed',
          `job ${id} ${ended}: ${job.error?.message ?? 'no reason given'}`,
          422,
        );
      }
      if (Date.now() > deadline)
        throw new ObscuraError('job_wait_timeout', `job ${id} is still ${job.status}; stopped waiting`, 503);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 300));
    }
  }

  /** A result's signed document as published (a sealed result's outputs stay sealed). */
  async result(id: string): Promise<ResultDocument> {
    return parseResultDocument(await this.get(`/v1/results/${path(id)}`));
  }

  /**
   * A result's output tables by step: public ones as published, sealed ones decrypted with
   * this account's key and checked against the hashes the enclave signed.
   */
  async resultTables(id: string): Promise<Record<string, OutputTable>> {
    return documentOutputs(await this.result(id), this.key);
  }
}
