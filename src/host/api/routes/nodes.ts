/** GET /v1/nodes: the federation's nodes as the chain lists them, each worker attested now. */
import { Router } from 'express';
import type { NodeStatus } from '../../../contracts/node-record.ts';
import { attestNode, peerAcceptance } from '../../federation/peer-attestation.ts';
import type { HostContext } from '../context.ts';
import { paginate } from '../paginate.ts';

/** Routes of the node registry. */
export function nodeRoutes(ctx: HostContext): Router {
  const r = Router();
  r.get('/nodes', async (req, res) => {
    const registry = ctx.nodes;
    // A host that reads no registry (an in-process test app) knows of no nodes.
    if (!registry) {
      res.json({ nodes: [], next: null });
      return;
    }
    const accept = peerAcceptance(ctx);
    // Page first: only the nodes of this page are asked for evidence.
    const { page, next } = paginate(req, await registry.nodes(), (n) => n.record.operator);
    const out = await Promise.all(
      page.map(async ({ record, blockNumber, fresh }): Promise<NodeStatus> => {
        const checks = fresh ? await attestNode(record, accept) : undefined;
        return {
          operator: record.operator,
          url: record.url,
          self: record.operator === registry.operator,
          status: fresh ? 'fresh' : 'stale',
          issuedAt: new Date(record.issuedAt).toISOString(),
          expiresAt: new Date(record.issuedAt + record.ttlMs).toISOString(),
          blockNumber,
          attestationDigest: record.attestationDigest,
          workers: record.workers.map((w) => ({
            ...w,
            attestation: checks?.get(w.id) ?? { ok: false, detail: 'the record is stale: not checked' },
          })),
        };
      }),
    );
    res.json({ nodes: out, next });
  });
  return r;
}
