/**
 * `ledger_unconfirmed`: the ledger entries committed whose heads were never confirmed on
 * chain (the host or this process died in between), for the host to place after a restart.
 */
import { handler } from './handler.ts';

export const ledgerUnconfirmed = handler('ledger_unconfirmed', async (_req, cx) => ({
  entries: cx.ledger.unconfirmed(),
}));
