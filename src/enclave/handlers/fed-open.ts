/** `fed_open`: a worker opens its partition of a federated job (federated.ts) and seals its statistics to the aggregator. */
import { handler } from './handler.ts';

export const fedOpen = handler('fed_open', (req, cx) =>
  cx.federated.open(req.session, req.job, req.step, req.aggregator),
);
