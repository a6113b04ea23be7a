/**
 * Upgrade authorisations: an operator anchors on the chain that enclave code with measurement
 * `to` may succeed code with measurement `from`. A running enclave hands its identity to a
 * newcomer only against such an anchored authorisation (see src/enclave/handover.ts), and
 * the owners' manifests still decide, dataset by dataset, whether the new measurement may
 * open their data.
 */
import { Router } from 'express';
import { z } from 'zod';
import { ObscuraError } from '../../common/errors.ts';
import { upgradeAuthorizationRecord } from '../../enclave/handover.ts';
import type { HostContext } from '../context.ts';
import { parseBody } from '../schemas.ts';

const measurement = z.string().regex(/^[0-9a-f]{64}$/, 'a measurement is 64 hex characters');

/** POST /v1/upgrades body. */
export const UpgradeRequestSchema = z.object({ from: measurement, to: measurement }).refine((b) => b.from !== b.to, {
  message: 'from and to must differ',
});

/** Routes under /v1/upgrades. */
export function upgradeRoutes(ctx: HostContext): Router {
  const r = Router();
  // Operators only: the route table's rule (src/api/openapi.ts) says so and src/api/access.ts enforces it.
  r.post('/upgrades', async (req, res) => {
    const caller = req.account as string;
    const body = parseBody(UpgradeRequestSchema, req.body);
    const [receipt] = await ctx.chain.anchor([upgradeAuthorizationRecord(body.from, body.to)]);
    if (!receipt) throw new ObscuraError('chain_anchor_failed', 'the chain returned no receipt', 502);
    const saved = ctx.metadata.insertUpgradeAuthorization({ from: body.from, to: body.to, authorizedBy: caller, receipt });
    ctx.log('info', `upgrade ${body.from.slice(0, 12)}… → ${body.to.slice(0, 12)}… authorised by ${caller} in block #${receipt.blockNumber}`);
    res.status(201).json(saved);
  });
  r.get('/upgrades', (_req, res) => {
    res.json({ upgrades: ctx.metadata.upgradeAuthorizations() });
  });
  return r;
}
