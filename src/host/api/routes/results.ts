/** Results: the signed result documents and their provenance with a live chain check. */
import { Router } from 'express';
import { readableResultsPage } from '../access.ts';
import type { HostContext } from '../context.ts';
import { etagMatches, ResultBodyCache } from '../result-cache.ts';

/** Routes under /v1/results. */
export function resultRoutes(ctx: HostContext): Router {
  const r = Router();
  const bodies = new ResultBodyCache();
  r.get('/results', (req, res) => {
    const { page, next } = readableResultsPage(ctx, req);
    res.json({
      next,
      results: page.map((d) => ({
        id: d.id,
        job: d.signed.result.job,
        pipeline: d.signed.result.pipeline,
        createdAt: d.signed.result.createdAt,
        simulated: d.signed.result.enclave.simulated,
      })),
    });
  });
  // Access was checked before this handler (guardRoutes). The bytes are cached; the ETag lets
  // a client revalidate with If-None-Match and get 304 without the body. `no-cache` makes
  // every reuse come back here, through the access check, and `private` keeps shared caches out.
  r.get('/results/:id', (req, res) => {
    const id = req.params.id;
    const { body, etag } = bodies.get(id, () => ctx.metadata.result(id));
    res.set({ ETag: etag, 'Cache-Control': 'private, no-cache' });
    if (etagMatches(req.get('if-none-match'), etag)) {
      res.status(304).end();
      return;
    }
    res.type('application/json; charset=utf-8').send(body);
  });
  r.get('/results/:id/provenance', async (req, res) => {
    const doc = ctx.metadata.result(req.params.id);
    const anchorCheck = await ctx.chain.verifyAnchor(doc.anchor, { kind: 'result', hash: doc.hash });
    const body = doc.signed.result;
    res.json({
      id: doc.id,
      hash: doc.hash,
      pipeline: body.pipeline,
      inputs: body.inputs,
      enclave: body.enclave,
      attestation: doc.attestation,
      anchor: doc.anchor,
      chainEndpoint: ctx.chainEndpoint,
      // Checked by the host for display; an auditor should run `obscura verify` against the chain itself.
      anchorCheck,
    });
  });
  return r;
}
