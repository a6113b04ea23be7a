/** `fed_merge`: the coordinating enclave merges the members' partials and releases the signed, attested result. */
import { handler } from './handler.ts';

export const fedMerge = handler('fed_merge', async (req, cx) => {
  const { signed, ciphertext } = await cx.aggregates.merge(req);
  cx.log(
    'info',
    `federated aggregate ${signed.result.job}: ${signed.result.federation?.workers.length} members`,
  );
  return cx.release(signed, ciphertext);
});
