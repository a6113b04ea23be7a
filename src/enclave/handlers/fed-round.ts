/** `fed_round`: a worker trains one round on its partition from the global model. */
import { handler } from './handler.ts';

export const fedRound = handler('fed_round', async (req, cx) => ({
  update: await cx.federated.round(req.session, req.global),
}));
