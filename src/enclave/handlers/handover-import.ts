/** `handover_import`: adopt the identity a predecessor released to this worker, and seal it to this measurement. */
import { ObscuraError } from '../../common/errors.ts';
import { importIdentity } from '../handover.ts';
import { handler } from './handler.ts';

export const handoverImport = handler('handover_import', async (req, cx) => {
  const next = await importIdentity(cx.state.ageIdentity, req.sealedIdentity);
  if (next.workerId !== cx.ctx.workerId) {
    throw new ObscuraError(
      'handover_invalid',
      `the handed-over identity belongs to worker ${next.workerId}, not ${cx.ctx.workerId}`,
      422,
    );
  }
  cx.persist(next);
  cx.restored = true;
  return cx.hello();
});
