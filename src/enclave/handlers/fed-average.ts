/** `fed_average`: the aggregator averages the workers' updates into the next global model. */
import { handler } from './handler.ts';

export const fedAverage = handler('fed_average', async (req, cx) => ({
  global: await cx.federated.average(req.session, req.updates),
}));
