/** `fed_init`: the aggregator merges the workers' statistics and makes the first global model. */
import { handler } from './handler.ts';

export const fedInit = handler('fed_init', async (req, cx) => ({
  global: await cx.federated.init(req.session, req.job, req.peers, req.stats),
}));
