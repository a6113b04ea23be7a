/**
 * `handover_export`: release this worker's identity to an attested successor whose upgrade
 * an operator authorised on chain (handover.ts). Refused without a chain to check it on.
 */
import { ObscuraError } from '../../common/errors.ts';
import { dropWarm } from '../../data/index.ts';
import { exportIdentity } from '../handover.ts';
import { handler } from './handler.ts';

export const handoverExport = handler('handover_export', async (req, cx) => {
  const endpoint = cx.setup.chainEndpoint;
  if (!endpoint)
    throw new ObscuraError(
      'handover_refused',
      'hand-over refused: the enclave was given no chain to check the authorisation on',
      503,
    );
  const sealedIdentity = await exportIdentity({
    state: cx.state,
    ownMeasurement: cx.setup.measurement,
    ownTee: cx.setup.provider.tee,
    request: {
      evidence: req.evidence,
      nonce: req.nonce,
      measurement: req.measurement,
      statement: req.statement,
      authorization: req.authorization,
    },
    verifyAnchor: async (receipt, record) => {
      const chain = await cx.connectChain(endpoint);
      try {
        return await chain.verifyAnchor(receipt, record);
      } finally {
        await chain.close();
      }
    },
  });
  // The successor holds the identity now: no decrypted dataset stays warm in this process.
  dropWarm(() => true);
  cx.log('info', `identity released to measurement ${req.measurement}`);
  return { sealedIdentity };
});
