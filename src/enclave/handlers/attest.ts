/** `attest`: evidence bound to the host's fresh nonce, so old evidence cannot be replayed. */
import { handler } from './handler.ts';

export const attest = handler('attest', async (req, cx) => ({ evidence: await cx.evidence(req.nonce) }));
