/**
 * Jobs: an analyst submits a pipeline over datasets; everything the host can check without
 * data is checked here (the pipeline, its inputs and columns, who may use each dataset,
 * where the datasets live), so a bad request fails with a 4xx before anything runs. The
 * enclave checks it all again.
 */
import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { ObscuraError } from '../../common/errors.ts';
import { checkPipeline } from '../../pipelines/index.ts';
import { enforcePolicies } from '../../privacy/enforce.ts';
import type { DatasetRecord } from '../../store/index.ts';
import { authenticate } from '../auth.ts';
import type { HostContext } from '../context.ts';
import { JobSubmissionSchema, parseBody } from '../schemas.ts';
import { pipelineFromBody } from './pipelines.ts';

/** Routes under /v1/jobs. */
export function jobRoutes(ctx: HostContext): Router {
  const r = Router();
  r.post('/jobs', authenticate(), (req, res) => {
    const analyst = req.account as string;
    const body = parseBody(JobSubmissionSchema, req.body);
    const { doc, hash } = body.pipeline !== undefined
      ? pipelineFromBody(body.pipeline)
      : pipelineFromBody(ctx.metadata.pipeline(body.pipelineHash as string).document as Record<string, unknown>);
    const datasets: Record<string, DatasetRecord> = {};
    for (const [name, id] of Object.entries(body.inputs)) {
      if (!ctx.metadata.hasDataset(id)) {
        throw new ObscuraError('dataset_not_found', `input ${name} names dataset ${id}, which does not exist`, 404, { input: name });
      }
      datasets[name] = ctx.metadata.dataset(id);
    }
    const plan = checkPipeline(doc, Object.fromEntries(Object.entries(datasets).map(([n, d]) => [n, d.schema])));
    for (const [name, d] of Object.entries(datasets)) {
      if (!d.analysts.includes('*') && !d.analysts.includes(analyst)) {
        throw new ObscuraError('analyst_not_allowed', `analyst ${analyst} is not allowed to use dataset ${d.id} (input ${name})`, 403, { input: name });
      }
    }
    // The owners' signed dataset policies; the enclave enforces them again before running.
    const inputs = Object.entries(datasets).map(([name, d]) => ({ name, manifest: d.manifest.manifest }));
    enforcePolicies(plan, inputs, { analyst, pipelineHash: hash, now: new Date(), doc });
    const workers = new Set(Object.values(datasets).map((d) => d.worker));
    if (workers.size !== 1) {
      throw new ObscuraError('inputs_on_different_workers', 'all inputs of a job must be sealed to the same worker (federation comes later)', 400);
    }
    const worker = [...workers][0] as string;
    const enclave = ctx.workers.get(worker);
    for (const [name, d] of Object.entries(datasets)) {
      if (!d.manifest.manifest.measurements.includes(enclave.info.measurement)) {
        throw new ObscuraError('measurement_not_accepted', `the owner of dataset ${d.id} (input ${name}) does not accept worker ${worker}'s measurement`, 403, { input: name });
      }
    }
    ctx.metadata.upsertPipeline(hash, doc.name, doc);
    const job = ctx.metadata.insertJob({ id: randomUUID(), analyst, pipelineHash: hash, inputs: body.inputs, worker });
    ctx.notifyJobQueued();
    res.status(202).location(`/v1/jobs/${job.id}`).json(job);
  });
  r.get('/jobs', (_req, res) => {
    res.json({ jobs: ctx.metadata.jobs() });
  });
  r.get('/jobs/:id', (req, res) => {
    res.json(ctx.metadata.job(req.params.id));
  });
  return r;
}
