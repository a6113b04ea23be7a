/**
 * Upgrade authorisations: an operator signs that enclave code with measurement `to` may
 * succeed code with measurement `from` (src/contracts/upgrade-authorization.ts), and the host
 * anchors the signed statement on the chain. A running enclave hands its identity to a
 * newcomer only against such an anchored statement signed by one of the operators it was
 * given at first start (src/enclave/handover.ts), so the host's check here is a courtesy,
 * not the guard; the owners' manifests still decide, dataset by dataset, whether the new
 * measurement may open their data.
 */
import { Router } from 'express';
import { ObscuraError } from '../../../common/errors.ts';
import {
  SignedUpgradeAuthorizationSchema,
  upgradeAuthorizationRecord,
  upgradeAuthorizationSignatureValid,
} from '../../../contracts/upgrade-authorization.ts';
import type { HostContext } from '../context.ts';
import { paginate } from '../paginate.ts';
import { parseBody } from '../../../contracts/api-schemas.ts';

/** POST /v1/upgrades body: the operator-signed statement. */
export const UpgradeRequestSchema = SignedUpgradeAuthorizationSchema;

/** Routes under /v1/upgrades. */
export function upgradeRoutes(ctx: HostContext): Router {
  const r = Router();
  // Operators only: the route table's rule (src/host/api/openapi.ts) says so and src/host/api/access.ts enforces it.
  r.post('/upgrades', async (req, res) => {
    const caller = req.account as string;
    const body = parseBody(UpgradeRequestSchema, req.body);
    if (body.authorization.operator !== caller || !upgradeAuthorizationSignatureValid(body)) {
      throw new ObscuraError(
        'upgrade_signature_invalid',
        'the upgrade authorisation must be signed by the calling operator',
        400,
      );
    }
    const { from, to } = body.authorization;
    const [receipt] = await ctx.chain.anchor([upgradeAuthorizationRecord(body)]);
    if (!receipt) throw new ObscuraError('chain_anchor_failed', 'the chain returned no receipt', 502);
    const saved = ctx.metadata.insertUpgradeAuthorization({
      from,
      to,
      authorizedBy: caller,
      statement: body,
      receipt,
    });
    ctx.log(
      'info',
      `upgrade ${from.slice(0, 12)}… → ${to.slice(0, 12)}… authorised by ${caller} in block #${receipt.blockNumber}`,
    );
    res.status(201).json(saved);
  });
  r.get('/upgrades', (req, res) => {
    const { page, next } = paginate(req, ctx.metadata.upgradeAuthorizations(), (u) => `${u.from}:${u.to}`);
    res.json({ upgrades: page, next });
  });
  return r;
}
