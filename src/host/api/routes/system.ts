/** GET /v1/health and the workers routes. */
import { Router } from 'express';
import { relayCollateral } from '../collateral-relay.ts';
import type { HostContext } from '../context.ts';
import { paginate } from '../paginate.ts';
import { AttestationQuerySchema, type Health, parseBody } from '../../../contracts/api-schemas.ts';

const VERSION = '0.1.0';

/** How long /v1/health waits for the chain's head before calling it unreachable. */
const PROBE_MS = 2000;

/** Whether the chain gives its head number within PROBE_MS. */
async function chainAnswers(ctx: HostContext): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), PROBE_MS);
  });
  try {
    return await Promise.race([ctx.chain.headNumber().then(() => true), late]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Routes about the host itself and its enclave workers. */
export function systemRoutes(ctx: HostContext): Router {
  const r = Router();
  r.get('/health', async (_req, res) => {
    const id = await ctx.chain.identity();
    const reachable = await chainAnswers(ctx);
    const outage = ctx.chainHealth.outage;
    const workers = ctx.workers.list();
    const degraded = [
      ...(!reachable || outage ? ['chain'] : []),
      ...workers.filter((w) => w.status === 'stopped').map((w) => `worker:${w.id}`),
    ];
    const out: Health = {
      status: degraded.length ? 'degraded' : 'ok',
      version: VERSION,
      degraded,
      chain: {
        endpoint: ctx.chainEndpoint,
        chainName: id.chainName,
        block1Hash: id.block1Hash,
        reachable,
        ...(outage ? { outage } : {}),
      },
      workers: workers.length,
      anchoring: { waiting: ctx.chainHealth.waiting, recovering: ctx.chainHealth.recovering },
    };
    res.json(out);
  });
  r.get('/workers', (req, res) => {
    const { page, next } = paginate(req, ctx.workers.list(), (w) => w.id);
    res.json({ workers: page, next });
  });
  r.get('/workers/:id/attestation', async (req, res) => {
    // The verifier's own fresh nonce is required, so evidence can never be replayed to it.
    const query = parseBody(
      AttestationQuerySchema,
      { nonce: req.query.nonce, collateral: req.query.collateral },
      'query',
    );
    const worker = ctx.workers.get(req.params.id);
    const { evidence } = await worker.request('attest', { nonce: query.nonce });
    const quote = 'quote' in evidence ? evidence.quote : undefined;
    res.json({
      worker: req.params.id,
      nonce: query.nonce,
      sealingRoot: worker.info.sealingRoot ?? 'simulated-file',
      evidence,
      // Public Intel data the host cannot forge (collateral-relay.ts): the page verifies with it.
      ...(query.collateral === 'true' && quote ? await relayCollateral(quote, ctx.collateral) : {}),
    });
  });
  return r;
}
