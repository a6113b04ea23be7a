/** `fed_close`: the host is done with a federated session; the enclave stops it and drops its state. */
import { handler } from './handler.ts';

export const fedClose = handler('fed_close', async (req, cx) => {
  const share = cx.aggregates.close(req.session);
  const { closed } = cx.federated.close(req.session);
  return { closed: closed || share };
});
