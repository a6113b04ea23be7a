/**
 * Reading the chain: its head, and every remark in a range of canonical blocks with where it
 * stands and who signed it. What the remarks mean (ledger heads, node records) is for the
 * caller to decode.
 */
import { encodeAddress } from '@polkadot/util-crypto';
import { assertConnected, type ChainConnection } from './connection.ts';
import type { Placement } from './submit.ts';
import { withTimeout } from './timeout.ts';

/** Where a remark stands, and the SS58 address (prefix 42) of its signer when it was signed by a 32-byte key. */
export interface RemarkPlace extends Placement {
  signer?: string;
}

/** Number of the newest block. Throws 'chain_unreachable' or 'chain_timeout'. */
export async function headNumber(chain: ChainConnection): Promise<number> {
  assertConnected(chain);
  const header = await withTimeout(
    chain.api.rpc.chain.getHeader(),
    chain.timeoutMs,
    'reading the chain head',
  );
  return header.number.toNumber();
}

/** Calls `visit` with every remark's bytes in canonical blocks `from`..`to` (default the head); returns the last block read. */
export async function scanRemarks(
  chain: ChainConnection,
  from: number,
  to: number | undefined,
  visit: (bytes: Uint8Array, where: RemarkPlace) => void,
): Promise<number> {
  const { api, timeoutMs } = chain;
  const last = to ?? (await headNumber(chain));
  for (let n = Math.max(1, from); n <= last; n++) {
    const blockHash = await withTimeout(api.rpc.chain.getBlockHash(n), timeoutMs, `reading block #${n}`);
    const signed = await withTimeout(api.rpc.chain.getBlock(blockHash), timeoutMs, `reading block #${n}`);
    signed.block.extrinsics.forEach((ex, extrinsicIndex) => {
      if (ex.method.section !== 'system' || !['remarkWithEvent', 'remark'].includes(ex.method.method)) return;
      const arg = ex.method.args[0];
      if (!arg) return;
      const key = ex.isSigned ? ex.signer.toU8a(true) : undefined;
      const signer = key?.length === 32 ? encodeAddress(key, 42) : undefined;
      visit(arg.toU8a(true), {
        blockHash: blockHash.toHex(),
        blockNumber: n,
        extrinsicIndex,
        ...(signer ? { signer } : {}),
      });
    });
  }
  return last;
}
