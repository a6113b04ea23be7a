/**
 * Approvals: an owner whose dataset policy says `pipelines: approval` approves one pipeline
 * hash on one dataset, for one analyst and purpose, until an expiry, for a number of runs,
 * by posting a signed approval (approval/2). The host checks it against the
 * dataset's owner (the enclave checks again), stores it, and releases every waiting job
 * that now has all the approvals it needs. `GET /v1/approvals?owner=` lists what waits for
 * an owner, with the preview each approver sees. `POST /v1/jobs/{id}/refusal` is the other
 * answer: an owner whose approval a job waits for refuses it, with a reason the analyst
 * reads, and the job ends failed. (A host could always decline to run a job, so a refusal
 * needs the owner's signed request, not a statement the enclave checks.)
 */
import { Router } from 'express';
import { paginate } from '../paginate.ts';
import { ObscuraError } from '../../../common/errors.ts';
import { manifestHash } from '../../../crypto/manifest.ts';
import { assertApproval, parseSignedApproval } from '../../../privacy/index.ts';
import { assertReadable, jobView, readableApprovals } from '../access.ts';
import type { HostContext } from '../context.ts';
import { ApprovalsQuerySchema, JobRefusalSchema, parseBody } from '../../../contracts/api-schemas.ts';
import { assessJob } from '../assess.ts';
import { jobPreview } from './jobs.ts';
import { pipelineFromBody } from './pipelines.ts';

/**
 * Re-assess the jobs waiting for approval (those of one pipeline, or all): release each
 * that now has every approval it needs, and fail each that can no longer run (its dataset
 * was revoked, its policy changed). Returns the released job ids.
 */
export function settleWaitingJobs(ctx: HostContext, pipelineHash?: string): string[] {
  const released: string[] = [];
  for (const job of ctx.metadata.jobsAwaitingApproval()) {
    if (pipelineHash !== undefined && job.pipeline.hash !== pipelineHash) continue;
    const { doc, hash } = pipelineFromBody(
      ctx.metadata.pipeline(job.pipeline.hash).document as Record<string, unknown>,
    );
    const a = assessJob(ctx, {
      analyst: job.analyst,
      doc,
      hash,
      inputs: job.inputs,
      ...(job.purpose ? { purpose: job.purpose } : {}),
    });
    if (a.refusal) {
      ctx.metadata.failJob(job.id, a.refusal.code, a.refusal.message);
      ctx.log('info', `job ${job.id}, waiting for approval, can no longer run: ${a.refusal.code}`);
    } else if (a.awaiting.length === 0) {
      ctx.metadata.releaseApprovedJob(job.id);
      released.push(job.id);
    }
  }
  if (released.length) ctx.notifyJobQueued();
  return released;
}

/** Routes under /v1/approvals. */
export function approvalRoutes(ctx: HostContext): Router {
  const r = Router();
  r.post('/approvals', (req, res) => {
    const signed = parseSignedApproval(req.body);
    const id = signed.approval.dataset.slice(0, 32);
    assertReadable(ctx, req.account, 'dataset', id);
    const dataset = ctx.metadata.dataset(id);
    if (req.account !== signed.approval.approver) {
      throw new ObscuraError(
        'approval_not_owner',
        `the request is signed by ${req.account}, the approval by ${signed.approval.approver}`,
        403,
      );
    }
    assertApproval(signed, dataset.manifest.manifest, manifestHash(dataset.manifest.manifest));
    ctx.privacy.putApproval(id, signed);
    const a = signed.approval;
    ctx.log(
      'info',
      `owner ${a.approver} approved pipeline ${a.pipeline} on dataset ${id} for analyst ${a.analyst}, ${a.runs} run(s) until ${a.expiresAt}`,
    );
    const released = settleWaitingJobs(ctx, signed.approval.pipeline);
    res.status(201).json({ approval: signed, released });
  });
  r.post('/jobs/:id/refusal', (req, res) => {
    const { reason } = parseBody(JobRefusalSchema, req.body, 'body');
    const job = ctx.metadata.job(req.params.id);
    if (job.status !== 'awaiting_approval')
      throw new ObscuraError(
        'job_not_awaiting_approval',
        `job ${job.id} is ${job.status.replace(/_/g, ' ')}: only a job waiting for approval can be refused`,
        409,
      );
    const waitsForMe = jobPreview(ctx, job.id).inputs.some(
      (i) => i.owner === req.account && i.approval === 'pending',
    );
    if (!waitsForMe)
      throw new ObscuraError(
        'refusal_not_owner',
        'only an owner whose approval the job waits for may refuse it',
        403,
      );
    ctx.metadata.failJob(job.id, 'refused_by_owner', `refused by dataset owner ${req.account}: ${reason}`);
    ctx.log('info', `owner ${req.account} refused job ${job.id}`);
    res.json(jobView(ctx.metadata.job(job.id), req.account));
  });
  r.get('/approvals', (req, res) => {
    const { owner } = parseBody(ApprovalsQuerySchema, req.query, 'query');
    const pending = readableApprovals(ctx, req.account, ctx.metadata.jobsAwaitingApproval())
      .map((job) => jobPreview(ctx, job.id))
      .filter(
        (p) => owner === undefined || p.inputs.some((i) => i.owner === owner && i.approval === 'pending'),
      );
    const { page, next } = paginate(req, pending, (p) => p.job ?? '');
    res.json({ pending: page, next });
  });
  return r;
}
