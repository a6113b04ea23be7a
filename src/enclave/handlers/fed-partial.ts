/** `fed_partial`: a member takes its share of a federated aggregate: its sealed partial, or first the spend to place. */
import { handler } from './handler.ts';

export const fedPartial = handler('fed_partial', (req, cx) =>
  cx.aggregates.take(req.session, req.job, req.coordinator),
);
