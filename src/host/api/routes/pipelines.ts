/** Pipelines: store a document under its canonical hash, and read them back. */
import { Router } from 'express';
import { parsePipeline, type PipelineDocument, pipelineHash } from '../../../pipelines/index.ts';
import { readablePipelinesPage } from '../access.ts';
import type { HostContext } from '../context.ts';
import { parseBody, PipelineSubmissionSchema } from '../../../contracts/api-schemas.ts';

/** Parse a pipeline given as text or as a JSON object; throws 'pipeline_invalid' (400). */
export function pipelineFromBody(document: string | Record<string, unknown>): {
  doc: PipelineDocument;
  hash: string;
} {
  const doc = parsePipeline(typeof document === 'string' ? document : JSON.stringify(document));
  return { doc, hash: pipelineHash(doc) };
}

/** Routes under /v1/pipelines. */
export function pipelineRoutes(ctx: HostContext): Router {
  const r = Router();
  r.post('/pipelines', (req, res) => {
    const body = parseBody(PipelineSubmissionSchema, req.body);
    const { doc, hash } = pipelineFromBody(body.document);
    const record = ctx.metadata.upsertPipeline(hash, doc.name, doc);
    ctx.metadata.addPipelineAuthor(hash, req.account as string);
    res.status(201).location(`/v1/pipelines/${hash}`).json(record);
  });
  r.get('/pipelines', (req, res) => {
    const { page, next } = readablePipelinesPage(ctx, req);
    res.json({ pipelines: page, next });
  });
  r.get('/pipelines/:hash', (req, res) => {
    res.json(ctx.metadata.pipeline(req.params.hash));
  });
  return r;
}
