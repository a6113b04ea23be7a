/** `fed_partial_run`: a member's sealed partial, once the spend its share committed is on chain. */
import { handler } from './handler.ts';

export const fedPartialRun = handler('fed_partial_run', (req, cx) => cx.aggregates.run(req.session));
