/** `cancel_job`: trip a running job's guard, stop its federated part here, or drop it while it waits. */
import { handler } from './handler.ts';

export const cancelJob = handler('cancel_job', async (req, cx) => {
  const guard = cx.running.get(req.job);
  guard?.cancel();
  // A federated job's part here stops too, mid-round.
  const federatedPart = cx.federated.cancel(req.job);
  // A federated aggregate's share waiting for its spend's anchor never reads its rows.
  const share = cx.aggregates.cancel(req.job);
  const waiting = [...cx.awaiting.values()].find((w) => w.job === req.job);
  if (waiting) waiting.cancelled = true;
  return { cancelled: guard !== undefined || federatedPart || share || waiting !== undefined };
});
