/** @polkadot's logger lines (date, padded ORIGIN: tag) are told apart from everything else the CLI and the page print. */
import { describe, expect, it } from 'vitest';
import { isPolkadotLog } from '../../src/chain/quiet-logs.ts';

describe('isPolkadotLog', () => {
  it('matches the lines @polkadot logs at start-up, and nothing of ours', () => {
    expect(
      isPolkadotLog([
        '2026-12-07 04:06:11',
        '       API/INIT:',
        'MetadataApi not available, rpc::state::get_metadata will be used.',
      ]),
    ).toBe(true);
    expect(isPolkadotLog(['2026-12-07 04:06:11', '        API-WS:', 'disconnected from ws://x'])).toBe(true);
    expect(
      isPolkadotLog([
        '2026-12-07 13:52:04',
        '       RPC-CORE:',
        'getBlock(hash?: BlockHash): SignedBlock:: 1: Block 0xf148 not found',
      ]),
    ).toBe(true);
    expect(isPolkadotLog(['obscura: cannot reach the chain (chain_unreachable)'])).toBe(false);
    expect(isPolkadotLog(['2026-12-07 04:06:11', 'not a tag'])).toBe(false);
    expect(isPolkadotLog([{ a: 1 }, 'API:'])).toBe(false);
  });
});
