/**
 * Who may read what. Every /v1 route has an access rule in the route table
 * (src/host/api/openapi.ts, `access`); `guardRoutes` applies it before any handler runs, and a
 * request that matches no route in the table is answered 404 there, so a route added
 * without a rule cannot be reached at all. List handlers filter their items with the same
 * predicates (`readable*`), so a list never holds what a read by id would refuse.
 *
 * The rules:
 * - a job, its preview, its result and the result's provenance: the job's analyst and the
 *   owners of its inputs; anyone (signed or not) when the pipeline says `visibility: public`
 *   and the policy in force of every input says `results: public`;
 * - a dataset (manifest, policy, budget): its owner, and the analysts allowed by both its
 *   signed manifest and the policy in force;
 * - a pipeline: the account that stored it, and whoever may read a job that runs it;
 * - approvals waiting: the owners of the job's inputs and the job's analyst;
 * - a job's failure (code and text): its analyst only.
 *
 * Refusals do not confirm that an id exists: a signed caller who may not read an item gets
 * the same 404 as for an id that does not exist, except for a dataset whose manifest named
 * the caller (who knows it exists) and whose policy in force no longer does: 403. An
 * unsigned caller asking for anything that is not public gets 401, whether it exists or not.
 */
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { ObscuraError } from '../../common/errors.ts';
import type {
  DatasetRecord,
  JobRecord,
  PipelineRecord,
  ResultDocument,
  ResultListRow,
} from '../store/index.ts';
import { pageAfter } from './paginate.ts';
import { rememberedDecision } from './access-cache.ts';
import { effectiveManifest } from './assess.ts';
import { authenticateRequest, type SeenRequests } from './auth.ts';
import type { HostContext } from './context.ts';
import { assertPeerNode } from '../federation/peer-check.ts';
import { peerAcceptance } from '../federation/peer-attestation.ts';

/** What a route's path parameter names, for `reads` and `lists`. */
export type Resource = 'dataset' | 'job' | 'result' | 'pipeline' | 'approval';

/** The access rule of one route (declared in the route table, src/host/api/openapi.ts). */
export interface AccessRule {
  /** none: public, never signed; optional: unsigned callers see public items only; signed: a signature is required. */
  auth: 'none' | 'optional' | 'signed';
  /** The caller must be able to read the item the route's path parameter names. */
  reads?: Exclude<Resource, 'approval'>;
  /** The route lists items; its handler keeps only those the caller may read. */
  lists?: Resource;
  /** Only the host's operators. */
  operator?: true;
  /** Only another node of the federation: the operator of a fresh record on the chain, running accepted code, attested now (src/host/federation/peer-check.ts). */
  node?: true;
  /** The body may be UNSIGNED-PAYLOAD (a streamed upload its signed manifest binds). */
  unsignedPayload?: true;
  /** Who may call it, in words (shown in the OpenAPI document). */
  who: string;
}

/** A route of the table as the guard needs it. */
export interface GuardedRoute {
  method: 'get' | 'post' | 'delete';
  path: string;
  access: AccessRule;
}

/** The caller: an account address, or undefined when the request was not signed. */
export type Caller = string | undefined;

/** How a caller stands to a dataset: may read it, knows it (named by its manifest) but may not, or neither. */
export function datasetAccess(ctx: HostContext, caller: Caller, d: DatasetRecord): 'read' | 'known' | 'none' {
  if (caller === undefined) return 'none';
  if (caller === d.owner) return 'read';
  const named = d.manifest.manifest.analysts.some((a) => a === '*' || a === caller);
  if (!named) return 'none';
  const { manifest } = effectiveManifest(ctx, d);
  const inForce = manifest.policy?.analysts ?? manifest.analysts;
  return inForce.includes('*') || inForce.includes(caller) ? 'read' : 'known';
}

const VisibilitySchema = z.object({ visibility: z.enum(['private', 'public']).optional() });

function datasetIds(job: JobRecord): string[] {
  return Object.values(job.inputs).flat();
}

function datasetIfAny(ctx: HostContext, id: string): DatasetRecord | undefined {
  return ctx.metadata.hasDataset(id) ? ctx.metadata.dataset(id) : undefined;
}

/** Whether anyone may read `job` and its result: the pipeline asks for it and every input's policy in force allows it. */
export function jobIsPublic(ctx: HostContext, job: JobRecord): boolean {
  const doc = VisibilitySchema.safeParse(ctx.metadata.pipeline(job.pipeline.hash).document);
  if (!doc.success || doc.data.visibility !== 'public') return false;
  return datasetIds(job).every((id) => {
    const d = datasetIfAny(ctx, id);
    if (!d) return false;
    const { manifest, revoked } = effectiveManifest(ctx, d);
    return !revoked && manifest.policy?.results === 'public';
  });
}

/** Whether `caller` is the job's analyst or an owner of one of its inputs. */
export function involvedInJob(ctx: HostContext, caller: Caller, job: JobRecord): boolean {
  if (caller === undefined) return false;
  return caller === job.analyst || datasetIds(job).some((id) => datasetIfAny(ctx, id)?.owner === caller);
}

/** Whether `caller` may read `job` (and its preview, result and provenance). */
export function mayReadJob(ctx: HostContext, caller: Caller, job: JobRecord): boolean {
  return involvedInJob(ctx, caller, job) || jobIsPublic(ctx, job);
}

/** Whether `caller` may read the pipeline with this hash. */
export function mayReadPipeline(ctx: HostContext, caller: Caller, hash: string): boolean {
  if (caller === undefined) return false;
  if (ctx.metadata.pipelineAuthors(hash).includes(caller)) return true;
  return ctx.metadata.jobsOfPipeline(hash).some((j) => mayReadJob(ctx, caller, j));
}

/** The job as `caller` sees it: a failure's code and text are its analyst's alone. */
export function jobView(job: JobRecord, caller: Caller): JobRecord {
  if (caller === job.analyst || job.error === undefined) return job;
  const { error: _hidden, ...rest } = job;
  return { ...rest, message: job.status === 'failed' ? 'failed' : rest.message };
}

/**
 * The page of jobs `caller` may read (with this status, when given) that the request asks for,
 * newest first: the store reads the page's candidates (Metadata.jobsAfter), checked here.
 */
export function readableJobsPage(
  ctx: HostContext,
  req: Request,
  status?: JobRecord['status'],
): { page: JobRecord[]; next: string | null } {
  const caller: Caller = req.account;
  const keep = (job: JobRecord) =>
    (status === undefined || job.status === status) && mayReadJob(ctx, caller, job);
  return pageAfter<JobRecord>(req, {
    fetch: (after, n) => ctx.metadata.jobsAfter(caller, after, n),
    keep,
    idOf: (job) => job.id,
    lists: (id) => ctx.metadata.hasJob(id) && keep(ctx.metadata.job(id)),
  });
}

/** Whether `caller` may read the stored result `id` (of a job it may read, in a form this version serves). */
function mayReadResult(ctx: HostContext, caller: Caller, id: string): boolean {
  const job = ctx.metadata.resultJob(id);
  if (job === undefined || !ctx.metadata.hasJob(job) || !mayReadJob(ctx, caller, ctx.metadata.job(job)))
    return false;
  try {
    ctx.metadata.result(id);
    return true;
  } catch {
    return false;
  }
}

/**
 * The page of results `caller` may read that the request asks for (its `limit` and `cursor`),
 * newest first: the store reads the page's candidates (Metadata.resultsAfter), and each is
 * checked here as a read by id would be.
 */
export function readableResultsPage(
  ctx: HostContext,
  req: Request,
): { page: ResultDocument[]; next: string | null } {
  const caller: Caller = req.account;
  const { page, next } = pageAfter<ResultListRow>(req, {
    fetch: (after, n) => ctx.metadata.resultsAfter(caller, after, n),
    keep: (row) => row.document !== undefined && mayReadJob(ctx, caller, ctx.metadata.job(row.job)),
    idOf: (row) => row.id,
    lists: (id) => mayReadResult(ctx, caller, id),
  });
  return { page: page.flatMap((row) => (row.document ? [row.document] : [])), next };
}

/**
 * The page of datasets `caller` may read that the request asks for, newest first: the store
 * reads the page's candidates (Metadata.datasetsAfter), checked here.
 */
export function readableDatasetsPage(
  ctx: HostContext,
  req: Request,
): { page: DatasetRecord[]; next: string | null } {
  const caller: Caller = req.account;
  const keep = (d: DatasetRecord) => datasetAccess(ctx, caller, d) === 'read';
  return pageAfter<DatasetRecord>(req, {
    fetch: (after, n) => ctx.metadata.datasetsAfter(caller, after, n),
    keep,
    idOf: (d) => d.id,
    lists: (id) => ctx.metadata.hasDataset(id) && keep(ctx.metadata.dataset(id)),
  });
}

/**
 * The page of pipelines `caller` may read that the request asks for, newest first: the store
 * reads the page's candidates (Metadata.pipelinesAfter), checked here.
 */
export function readablePipelinesPage(
  ctx: HostContext,
  req: Request,
): { page: PipelineRecord[]; next: string | null } {
  const caller: Caller = req.account;
  return pageAfter<PipelineRecord>(req, {
    fetch: (after, n) => ctx.metadata.pipelinesAfter(caller, after, n),
    keep: (p) => mayReadPipeline(ctx, caller, p.hash),
    idOf: (p) => p.hash,
    lists: (hash) => ctx.metadata.hasPipeline(hash) && mayReadPipeline(ctx, caller, hash),
  });
}

/** Jobs awaiting approval whose approvals `caller` may see: their analyst and their inputs' owners. */
export function readableApprovals(ctx: HostContext, caller: Caller, jobs: JobRecord[]): JobRecord[] {
  return jobs.filter((j) => involvedInJob(ctx, caller, j));
}

function unauthenticated(): ObscuraError {
  return new ObscuraError(
    'unauthenticated',
    'this item is not public: sign the request (headers obscura-account, obscura-timestamp, obscura-signature)',
    401,
  );
}

/**
 * Throw unless `caller` may read the item: 401 for an unsigned caller, the item's own
 * not-found 404 for a signed caller who may not read it (as if it did not exist), 403 for
 * a dataset whose manifest named the caller but whose policy in force does not.
 */
export function assertReadable(
  ctx: HostContext,
  caller: Caller,
  resource: Exclude<Resource, 'approval'>,
  id: string,
): void {
  if (caller === undefined && resource !== 'job' && resource !== 'result') throw unauthenticated();
  // The not-found error is built only when thrown: an Error captures a stack, and building
  // one on every successful read cost ~4% of the host's CPU serving results.
  let readable: boolean;
  let notFound: () => ObscuraError;
  switch (resource) {
    case 'dataset': {
      const d = datasetIfAny(ctx, id);
      const access = d ? datasetAccess(ctx, caller, d) : 'none';
      if (access === 'known')
        throw new ObscuraError('dataset_not_visible', `dataset ${id} no longer allows ${caller}`, 403);
      readable = access === 'read';
      notFound = () => new ObscuraError('dataset_not_found', `no dataset with id ${id}`, 404);
      break;
    }
    case 'job':
      readable = rememberedDecision(
        ctx.metadata,
        `job\n${id}\n${caller ?? ''}`,
        () => ctx.metadata.hasJob(id) && mayReadJob(ctx, caller, ctx.metadata.job(id)),
      );
      notFound = () => new ObscuraError('job_not_found', `no job with id ${id}`, 404);
      break;
    case 'result':
      readable = rememberedDecision(ctx.metadata, `result\n${id}\n${caller ?? ''}`, () => {
        const job = ctx.metadata.resultJob(id);
        return job !== undefined && mayReadJob(ctx, caller, ctx.metadata.job(job));
      });
      notFound = () => new ObscuraError('result_not_found', `no result with id ${id}`, 404);
      break;
    case 'pipeline':
      readable = ctx.metadata.hasPipeline(id) && mayReadPipeline(ctx, caller, id);
      notFound = () => new ObscuraError('pipeline_not_found', `no pipeline with hash ${id}`, 404);
      break;
  }
  if (readable) return;
  throw caller === undefined ? unauthenticated() : notFound();
}

interface Compiled {
  route: GuardedRoute;
  pattern: RegExp;
  params: string[];
}

function compile(route: GuardedRoute): Compiled {
  const params: string[] = [];
  const source = route.path
    .replace(/^\/v1/, '')
    .split('/')
    .map((seg) => {
      const m = /^\{(\w+)\}$/.exec(seg);
      if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      params.push(m[1] as string);
      return '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}/?$`), params };
}

/**
 * Middleware for the /v1 router: find the request's route in the table (404 if none),
 * authenticate as its rule says, and check operator and read rights, before any handler.
 */
export function guardRoutes(ctx: HostContext, routes: readonly GuardedRoute[], replay: SeenRequests) {
  const compiled = routes.map(compile);
  return (req: Request, res: Response, next: NextFunction): void => {
    try {
      const method = req.method === 'HEAD' ? 'get' : req.method.toLowerCase();
      let match: { c: Compiled; values: string[] } | undefined;
      for (const c of compiled) {
        if (c.route.method !== method) continue;
        const m = c.pattern.exec(req.path);
        if (m) {
          match = { c, values: m.slice(1) };
          break;
        }
      }
      if (!match) {
        // A path the API has, with a method it does not take: 405 naming the ones it does (RFC 9110).
        const allowed = compiled.filter((c) => c.pattern.test(req.path)).map((c) => c.route.method);
        if (allowed.length > 0) {
          const allow = [
            ...new Set(allowed.flatMap((m) => (m === 'get' ? ['GET', 'HEAD'] : [m.toUpperCase()]))),
          ];
          res.setHeader('Allow', allow.join(', '));
          throw new ObscuraError(
            'method_not_allowed',
            `${req.method} is not allowed on ${req.baseUrl}${req.path}; allowed: ${allow.join(', ')}`,
            405,
          );
        }
        throw new ObscuraError('not_found', `no route for ${req.method} ${req.baseUrl}${req.path}`, 404);
      }
      const { access } = match.c.route;
      if (access.auth !== 'none') {
        const account = authenticateRequest(req, {
          replay,
          optional: access.auth === 'optional',
          ...(access.unsignedPayload ? { allowUnsignedPayload: true } : {}),
        });
        if (account !== undefined) req.account = account;
      }
      if (access.operator && !ctx.operators.includes(req.account as string)) {
        throw new ObscuraError('not_operator', 'only an operator of this host may do this', 403);
      }
      if (access.reads) {
        const raw = match.values[0] as string;
        let id: string;
        try {
          id = decodeURIComponent(raw);
        } catch {
          id = raw;
        }
        assertReadable(ctx, req.account, access.reads, id);
      }
      if (access.node) {
        assertPeerNode(ctx.nodes, req.account as string, peerAcceptance(ctx)).then(() => next(), next);
        return;
      }
      next();
    } catch (e) {
      next(e);
    }
  };
}
