/** `fed_evaluate`: a worker evaluates the final model on its partition, sealed to the aggregator. */
import { handler } from './handler.ts';

export const fedEvaluate = handler('fed_evaluate', async (req, cx) => ({
  stats: await cx.federated.evaluate(req.session, req.global),
}));
