/**
 * Upgrading a worker's enclave code at host start. When the enclave (new code, new
 * measurement) could not unseal an identity of its own, and the operator names the previous
 * release's code (`predecessorRoot`), the host starts the predecessor enclave beside it on
 * the same data directory and asks it to hand its identity over. The predecessor decides
 * (src/enclave/handover.ts): it checks the newcomer's attestation and the on-chain
 * authorisation of this exact upgrade. The host only carries messages; the identity crosses
 * it encrypted to the newcomer's attested key.
 */
import { randomBytes } from 'node:crypto';
import { isObscuraError } from '../../common/errors.ts';
import { EnclaveClient, type EnclaveOptions } from '../enclave-client.ts';
import type { Metadata } from '../store/index.ts';
import type { HostLog } from './context.ts';

/** Hand `newcomer` the identity of the predecessor code's enclave, if authorised; returns whether it was. */
export async function handOverFromPredecessor(args: {
  newcomer: EnclaveClient;
  predecessor: Omit<EnclaveOptions, 'log'> & { root: string };
  metadata: Metadata;
  log: HostLog;
}): Promise<boolean> {
  const { newcomer, metadata, log } = args;
  const id = newcomer.info.workerId;
  const old = await EnclaveClient.start({
    ...args.predecessor,
    log: (level, m) => log(level, `[${id} predecessor] ${m}`),
  });
  try {
    const from = old.info.measurement;
    const to = newcomer.info.measurement;
    if (from === to) {
      log('info', `worker ${id}: the predecessor runs the same code; nothing to hand over`);
      return false;
    }
    const authorization = metadata.upgradeAuthorization(from, to);
    if (!authorization?.statement) {
      log(
        'warn',
        `worker ${id}: no ${authorization ? 'operator-signed ' : ''}authorisation of the upgrade ${from.slice(0, 12)}… → ${to.slice(0, 12)}… is recorded${authorization ? ' (authorise it again with obscura upgrade authorize)' : ''}; the new code has no access to datasets sealed to the old identity`,
      );
      return false;
    }
    const nonce = randomBytes(32).toString('hex');
    const { evidence } = await newcomer.request('attest', { nonce });
    const { sealedIdentity } = await old.request('handover_export', {
      evidence,
      nonce,
      measurement: to,
      statement: authorization.statement,
      authorization: authorization.receipt,
    });
    await newcomer.request('handover_import', { sealedIdentity });
    await newcomer.refreshInfo();
    log(
      'info',
      `worker ${id}: identity handed over from ${from.slice(0, 12)}… to ${to.slice(0, 12)}… (authorised in block #${authorization.receipt.blockNumber})`,
    );
    return true;
  } catch (e) {
    if (!isObscuraError(e)) throw e;
    log(
      'warn',
      `worker ${id}: hand-over refused (${e.code}: ${e.message}); the new code has no access to datasets sealed to the old identity`,
    );
    return false;
  } finally {
    await old.stop();
  }
}
