/** `fed_partial_check`: a member checks its share of a federated aggregate and the coordinator, spending nothing. */
import { handler } from './handler.ts';

export const fedPartialCheck = handler('fed_partial_check', async (req, cx) => {
  await cx.aggregates.check(req.job, req.coordinator);
  return { ok: true as const };
});
