/**
 * Submitting a remark signed by the operator and waiting, bounded, until it is in a block:
 * where it landed, or one stable error ('chain_anchor_failed', 'chain_unreachable',
 * 'chain_timeout'). Callers serialise submissions (SerialQueue) so one signer's nonces
 * never race.
 */
import type { KeyringPair } from '@polkadot/keyring/types';
import type { ISubmittableResult } from '@polkadot/types/types';
import { ObscuraError, errorMessage } from '../common/errors.ts';
import { assertConnected, type ChainConnection, unreachable } from './connection.ts';
import { withTimeout } from './timeout.ts';

/** Where a submitted extrinsic landed. */
export interface Placement {
  blockHash: string;
  blockNumber: number;
  extrinsicIndex: number;
}

/** Sends `remark` (0x hex) in a `system.remarkWithEvent` signed by `signer`; resolves once it is in a block. */
export async function submitRemark(
  chain: ChainConnection,
  signer: KeyringPair,
  remark: string,
): Promise<Placement> {
  const { api, endpoint, timeoutMs } = chain;
  assertConnected(chain);
  // Pallets come from runtime metadata, so the types are an index; every Substrate runtime has system.
  const tx = api.tx.system!.remarkWithEvent!(remark);
  let unsub: (() => void) | undefined;
  let finished = false;
  const inBlock = new Promise<ISubmittableResult>((resolve, reject) => {
    tx.signAndSend(signer, { nonce: -1 }, (result) => {
      const { status } = result;
      if (status.isInBlock || status.isFinalized) resolve(result);
      else if (status.isInvalid || status.isDropped || status.isUsurped || status.isFinalityTimeout) {
        reject(
          new ObscuraError(
            'chain_anchor_failed',
            `the anchor transaction was ${status.type.toLowerCase()}`,
            502,
          ),
        );
      }
    })
      .then((u) => {
        if (finished) u();
        else unsub = u;
      })
      .catch((e: unknown) => {
        if (!api.isConnected) reject(unreachable(endpoint, 'connection lost while submitting', e));
        else
          reject(
            new ObscuraError(
              'chain_anchor_failed',
              `the chain refused the anchor transaction: ${errorMessage(e)}`,
              502,
              undefined,
              { cause: e },
            ),
          );
      });
  });
  try {
    const result = await withTimeout(inBlock, timeoutMs, 'waiting for the anchor to be included in a block');
    if (result.dispatchError) {
      const err = result.dispatchError;
      const why = err.isModule
        ? (({ section, name }) => `${section}.${name}`)(api.registry.findMetaError(err.asModule))
        : err.toString();
      throw new ObscuraError('chain_anchor_failed', `the anchor extrinsic failed: ${why}`, 502);
    }
    const blockHash = (result.status.isInBlock ? result.status.asInBlock : result.status.asFinalized).toHex();
    const signed = await withTimeout(
      api.rpc.chain.getBlock(blockHash),
      timeoutMs,
      'reading the anchor block',
    );
    const extrinsicIndex = signed.block.extrinsics.findIndex((ex) => ex.hash.eq(result.txHash));
    if (extrinsicIndex < 0)
      throw new ObscuraError(
        'chain_anchor_failed',
        `the anchor extrinsic is missing from block ${blockHash}`,
        502,
      );
    return { blockHash, blockNumber: signed.block.header.number.toNumber(), extrinsicIndex };
  } finally {
    finished = true;
    unsub?.();
  }
}
