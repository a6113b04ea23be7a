/** `fed_close`: the host is done with a federated session; the enclave stops it and drops its state. */
import { handler } from './handler.ts';

export const fedClose = handler('fed_close', async (req, cx) => cx.federated.close(req.session));
