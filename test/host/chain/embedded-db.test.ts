/**
 * The embedded chain's block store: a saved block's diff loses `:code` only when it equals
 * the genesis code (a runtime upgrade is kept), and genesis storage is never cached on disk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CODE_KEY, EmbeddedChainDb } from '../../../src/host/chain/embedded-db.ts';

const dir = mkdtempSync(join(tmpdir(), 'obscura-chaindb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const h = (b: string) => `0x${b.repeat(32)}` as const;
const block = (number: number, diff: Record<string, string | null>) => ({
  hash: h(String(number).padStart(2, '0')),
  number,
  header: '0x00' as const,
  parentHash: h('00'),
  extrinsics: [],
  storageDiff: diff as Record<`0x${string}`, `0x${string}` | null>,
});

describe('EmbeddedChainDb', () => {
  it('drops the unchanged genesis code from saved diffs, keeps an upgraded one', async () => {
    const db = new EmbeddedChainDb(join(dir, 'chain.sqlite'), '0xC0DE');
    try {
      await db.saveBlock(block(1, { [CODE_KEY]: '0xc0de', '0x01': '0x02' }));
      await db.saveBlock(block(2, { [CODE_KEY]: '0xbeef', '0x01': '0x03' }));
      await db.saveBlock(block(3, { '0x01': null }));
      expect((await db.queryBlockByNumber(1))?.storageDiff).toEqual({ '0x01': '0x02' });
      expect((await db.queryBlockByNumber(2))?.storageDiff).toEqual({ [CODE_KEY]: '0xbeef', '0x01': '0x03' });
      expect((await db.queryBlockByNumber(3))?.storageDiff).toEqual({ '0x01': null });
      expect((await db.queryHighestBlock())?.number).toBe(3);
      await db.saveStorage(h('45'), CODE_KEY, '0xc0de');
      expect(await db.queryStorage(h('45'), CODE_KEY)).toBeNull();
    } finally {
      await db.close();
    }
  });
});
