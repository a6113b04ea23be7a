/** `fed_finish`: the aggregator merges the evaluations and releases the signed, attested result. */
import { handler } from './handler.ts';

export const fedFinish = handler('fed_finish', async (req, cx) => {
  const { signed, ciphertext } = await cx.federated.finish(req.session, req.stats);
  cx.log(
    'info',
    `federated job ${signed.result.job}: ${signed.result.federation?.workers.length} workers, ${signed.result.federation?.rounds} rounds`,
  );
  return cx.release(signed, ciphertext);
});
