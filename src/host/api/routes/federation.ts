/**
 * Node-to-node routes. `GET /v1/federation/node` is public: the record this node last
 * published, so a peer can check that the URL in a record is this node's (peer-check.ts).
 * `POST /v1/federation/hello` answers only a registered peer node (the access rule `node`):
 * it tells the peer how this node sees it and gives this node's workers' evidence for the
 * peer's own nonce, so a coordinator checks a node's code and its willingness in one call
 * before it hands it any part of a job.
 */
import { Router } from 'express';
import { z } from 'zod';
import { parseBody } from '../../../contracts/api-schemas.ts';
import { ObscuraError } from '../../../common/errors.ts';
import type { HostContext } from '../context.ts';

/** The body of POST /v1/federation/hello. */
export const HelloRequestSchema = z.strictObject({ nonce: z.string().regex(/^[0-9a-f]{64}$/) });

/** Routes between nodes. */
export function federationRoutes(ctx: HostContext): Router {
  const r = Router();
  r.get('/federation/node', (_req, res) => {
    const current = ctx.nodes?.current;
    if (!current)
      throw new ObscuraError('node_not_registered', 'this node has published no node record', 404);
    res.json(current);
  });
  r.post('/federation/hello', async (req, res) => {
    const { nonce } = parseBody(HelloRequestSchema, req.body);
    const workers = await Promise.all(
      ctx.workers
        .list()
        .filter((w) => w.status === 'running')
        .map(async (w) => ({
          id: w.id,
          evidence: (await ctx.workers.get(w.id).request('attest', { nonce })).evidence,
        })),
    );
    res.json({ node: ctx.nodes?.operator, peer: req.account, nonce, workers });
  });
  return r;
}
