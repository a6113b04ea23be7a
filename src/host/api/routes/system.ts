/** GET /v1/health and the workers routes. */
import { Router } from 'express';
import type { HostContext } from '../context.ts';
import { paginate } from '../paginate.ts';
import { AttestationQuerySchema, parseBody } from '../../../contracts/api-schemas.ts';

const VERSION = '0.1.0';

/** Routes about the host itself and its enclave workers. */
export function systemRoutes(ctx: HostContext): Router {
  const r = Router();
  r.get('/health', async (_req, res) => {
    const id = await ctx.chain.identity();
    res.json({
      status: 'ok',
      version: VERSION,
      chain: { endpoint: ctx.chainEndpoint, chainName: id.chainName, block1Hash: id.block1Hash },
      workers: ctx.workers.list().length,
    });
  });
  r.get('/workers', (req, res) => {
    const { page, next } = paginate(req, ctx.workers.list(), (w) => w.id);
    res.json({ workers: page, next });
  });
  r.get('/workers/:id/attestation', async (req, res) => {
    // The verifier's own fresh nonce is required, so evidence can never be replayed to it.
    const query = parseBody(AttestationQuerySchema, { nonce: req.query.nonce }, 'query');
    const worker = ctx.workers.get(req.params.id);
    const { evidence } = await worker.request('attest', { nonce: query.nonce });
    res.json({
      worker: req.params.id,
      nonce: query.nonce,
      sealingRoot: worker.info.sealingRoot ?? 'simulated-file',
      evidence,
    });
  });
  return r;
}
