/**
 * `confirm_ledger`: check that a ledger entry's head is on chain, then run the job that
 * waited for it. From here the job may read data, and it has paid whatever happens.
 */
import { jobCancelled } from '../../pipelines/limits.ts';
import { handler } from './handler.ts';

export const confirmLedger = handler('confirm_ledger', async (req, cx) => {
  const entry = await cx.ledger.confirm(req.placement);
  const waiting = cx.awaiting.get(entry.entry.seq);
  if (!waiting) return { entry };
  cx.awaiting.delete(entry.entry.seq);
  if (waiting.cancelled) return { entry, failed: cx.failureOf(jobCancelled(), req.type) };
  try {
    return { entry, released: await cx.execute(waiting.job, waiting.started, req.id) };
  } catch (e) {
    return { entry, failed: cx.failureOf(e, req.type) };
  }
});
