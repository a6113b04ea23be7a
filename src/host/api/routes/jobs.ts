/**
 * Jobs: an analyst submits a pipeline over datasets; everything the host can check without
 * data is checked here (assess.ts), so a bad request fails with a 4xx before anything runs.
 * `?dry_run=true` reports every check and the privacy cost instead of queueing. A job whose
 * inputs need their owners' approval waits (status awaiting_approval) until every one of
 * them has approved the pipeline's hash for this analyst and purpose. A job to run comes with
 * the analyst's signed request (job-requests.ts); the enclave checks it all again. DELETE
 * cancels a job that has not ended; only the analyst who submitted it may.
 */
import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { ObscuraError } from '../../../common/errors.ts';
import { assertReadable, jobView, readableJobsPage } from '../access.ts';
import { checkSubmittedRequest } from '../job-requests.ts';
import { assessBudget, assessJob } from '../assess.ts';
import type { HostContext } from '../context.ts';
import {
  JobQuerySchema,
  JobsQuerySchema,
  JobSubmissionSchema,
  parseBody,
} from '../../../contracts/api-schemas.ts';
import { pipelineFromBody } from './pipelines.ts';
import { type LocatedDataset, locateDatasets } from '../../federation/locate.ts';
import { peerAcceptance } from '../../federation/peer-attestation.ts';
import { checkAcrossNodes } from '../federated-submit.ts';
import { dryRunPreview } from '../federated-dry-run.ts';

/** Routes under /v1/jobs. */
export function jobRoutes(ctx: HostContext): Router {
  const r = Router();
  r.post('/jobs', async (req, res) => {
    const analyst = req.account as string;
    const query = parseBody(JobQuerySchema, req.query, 'query');
    const body = parseBody(JobSubmissionSchema, req.body);
    const ids = Object.values(body.inputs).flat();
    const elsewhere = ids.filter((id) => !ctx.metadata.hasDataset(id));
    // Datasets of other nodes: found through the chain's registry, checked there by their own nodes.
    // A dry run pre-checks them too (with the signed request `obscura run --dry-run` sends): each is
    // on a fresh node that holds it and lets this analyst read it; its policy is checked there at run.
    const remote =
      elsewhere.length > 0 && ctx.nodes && body.request
        ? await locateDatasets(ctx.nodes, body.request, elsewhere, peerAcceptance(ctx))
        : new Map<string, LocatedDataset>();
    // A dataset the analyst may not read is answered as missing, so a job cannot probe for ids.
    for (const id of ids) if (!remote.has(id)) assertReadable(ctx, analyst, 'dataset', id);
    const { doc, hash } =
      body.pipeline !== undefined
        ? pipelineFromBody(body.pipeline)
        : pipelineFromBody(
            ctx.metadata.pipeline(body.pipelineHash as string).document as Record<string, unknown>,
          );
    const local = Object.fromEntries(
      Object.entries(body.inputs)
        .map(([name, v]) => {
          const mine = (Array.isArray(v) ? v : [v]).filter((id) => !remote.has(id));
          return [name, remote.size > 0 ? mine : v] as const;
        })
        .filter(([, v]) => !Array.isArray(v) || v.length > 0),
    );
    const assessment =
      remote.size > 0 && Object.keys(local).length < Object.keys(body.inputs).length
        ? undefined
        : await assessBudget(
            ctx,
            assessJob(ctx, {
              analyst,
              doc,
              hash,
              inputs: local,
              ...(body.purpose ? { purpose: body.purpose } : {}),
            }),
          );
    if (query.dry_run === 'true') {
      res.json(dryRunPreview(assessment?.preview, remote));
      return;
    }
    if (assessment?.refusal) throw assessment.refusal;
    const request = body.request;
    if (!request) {
      throw new ObscuraError(
        'job_request_missing',
        "a job needs the analyst's signed job request (field request; `obscura run` makes one)",
        400,
      );
    }
    checkSubmittedRequest(
      ctx,
      request,
      {
        analyst,
        doc,
        hash,
        inputs: body.inputs,
        purpose: body.purpose ?? '',
      },
      remote,
    );
    if (remote.size > 0 || Object.values(body.inputs).some(Array.isArray))
      checkAcrossNodes(ctx, doc, body.inputs, remote);
    const worker =
      assessment?.worker ?? ctx.workers.list().find((w) => w.status === 'running')?.id ?? 'worker-1';
    ctx.metadata.upsertPipeline(hash, doc.name, doc);
    const job = ctx.metadata.insertJob({
      id: randomUUID(),
      analyst,
      pipelineHash: hash,
      inputs: body.inputs,
      worker,
      ...(body.purpose ? { purpose: body.purpose } : {}),
      awaitingApproval: (assessment?.awaiting.length ?? 0) > 0,
      request,
    });
    if (assessment?.awaiting.length)
      ctx.log(
        'info',
        `job ${job.id} waits for approval of pipeline ${hash} by the owners of ${assessment.awaiting.join(', ')}`,
      );
    else ctx.notifyJobQueued();
    res.status(202).location(`/v1/jobs/${job.id}`).json(job);
  });
  r.get('/jobs', (req, res) => {
    const { status } = parseBody(JobsQuerySchema, req.query, 'query');
    const { page, next } = readableJobsPage(ctx, req, status);
    res.json({ jobs: page.map((j) => jobView(j, req.account)), next });
  });
  r.get('/jobs/:id', (req, res) => {
    res.json(jobView(ctx.metadata.job(req.params.id), req.account));
  });
  r.delete('/jobs/:id', async (req, res) => {
    const job = ctx.metadata.job(String(req.params.id));
    if (job.analyst !== req.account)
      throw new ObscuraError(
        'job_cancel_forbidden',
        'only the analyst who submitted a job can cancel it',
        403,
      );
    const outcome = await ctx.cancelJob(job.id);
    // 200: the job ended cancelled now; 202: its enclave was asked to stop it.
    res.status(outcome === 'cancelled' ? 200 : 202).json(jobView(ctx.metadata.job(job.id), req.account));
  });
  r.get('/jobs/:id/preview', (req, res) => {
    res.json(jobPreview(ctx, req.params.id));
  });
  return r;
}

/** The preview of a submitted job, as its approvers see it. */
export function jobPreview(ctx: HostContext, id: string) {
  const job = ctx.metadata.job(id);
  const { doc, hash } = pipelineFromBody(
    ctx.metadata.pipeline(job.pipeline.hash).document as Record<string, unknown>,
  );
  const { preview } = assessJob(ctx, {
    analyst: job.analyst,
    doc,
    hash,
    inputs: job.inputs,
    ...(job.purpose ? { purpose: job.purpose } : {}),
  });
  return { job: job.id, ...preview, ...(job.request ? { request: job.request } : {}) };
}
