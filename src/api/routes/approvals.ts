/**
 * Approvals: an owner whose dataset policy says `pipelines: approval` approves one pipeline
 * hash on one dataset by posting a signed approval. The host checks it against the
 * dataset's owner (the enclave checks again), stores it, and releases every waiting job
 * that now has all the approvals it needs. `GET /v1/approvals?owner=` lists what waits for
 * an owner, with the preview each approver sees.
 */
import { Router } from 'express';
import { ObscuraError } from '../../common/errors.ts';
import { manifestHash } from '../../crypto/manifest.ts';
import { assertApproval, parseSignedApproval } from '../../privacy/index.ts';
import { authenticate } from '../auth.ts';
import type { HostContext } from '../context.ts';
import { ApprovalsQuerySchema, parseBody } from '../schemas.ts';
import { jobPreview } from './jobs.ts';

/** Routes under /v1/approvals. */
export function approvalRoutes(ctx: HostContext): Router {
  const r = Router();
  r.post('/approvals', authenticate(), (req, res) => {
    const signed = parseSignedApproval(req.body);
    const id = signed.approval.dataset.slice(0, 32);
    if (!ctx.metadata.hasDataset(id)) throw new ObscuraError('dataset_not_found', `no dataset with id ${id}`, 404);
    const dataset = ctx.metadata.dataset(id);
    if (req.account !== signed.approval.approver) {
      throw new ObscuraError('approval_not_owner', `the request is signed by ${req.account}, the approval by ${signed.approval.approver}`, 403);
    }
    assertApproval(signed, dataset.manifest.manifest, manifestHash(dataset.manifest.manifest));
    ctx.privacy.putApproval(id, signed);
    ctx.log('info', `owner ${signed.approval.approver} approved pipeline ${signed.approval.pipeline} on dataset ${id}`);
    const released: string[] = [];
    for (const job of ctx.metadata.jobsAwaitingApproval()) {
      if (job.pipeline.hash !== signed.approval.pipeline) continue;
      const preview = jobPreview(ctx, job.id);
      if (preview.inputs.every((i) => i.approval !== 'pending')) {
        ctx.metadata.releaseApprovedJob(job.id);
        released.push(job.id);
      }
    }
    if (released.length) ctx.notifyJobQueued();
    res.status(201).json({ approval: signed, released });
  });
  r.get('/approvals', (req, res) => {
    const { owner } = parseBody(ApprovalsQuerySchema, req.query, 'query');
    const pending = ctx.metadata
      .jobsAwaitingApproval()
      .map((job) => jobPreview(ctx, job.id))
      .filter((p) => owner === undefined || p.inputs.some((i) => i.owner === owner && i.approval === 'pending'));
    res.json({ pending });
  });
  return r;
}
