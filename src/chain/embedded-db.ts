/**
 * The embedded chain's block store: chopsticks-db's SqliteDatabase with two corrections.
 *
 * - Every block chopsticks saves carries the runtime `:code` (~1.2 MB) in its storage diff,
 *   so the file grew ~1.2 MB a block. We drop `:code` from a saved diff when it equals the
 *   genesis code (a real runtime upgrade, with different code, is still kept). A block loaded
 *   back without `:code` reads it through its parents from the genesis state, and chopsticks
 *   keeps the parent's metadata because the diff does not touch `:code`.
 * - Genesis storage never needs caching (the genesis spec is in memory), so the per-key
 *   storage cache is switched off; it would otherwise copy the 1.2 MB code into the file once.
 *
 * (The other fault, a fresh block #1 replacing the stored one on resume, is handled where
 * the chain is started: embedded.ts loads the highest stored block as head instead.)
 */
import type { BlockEntry, KeyValueEntry } from '@acala-network/chopsticks-core';
import { SqliteDatabase } from '@acala-network/chopsticks-db';
import type { HexString } from '@polkadot/util/types';

/** Storage key of the runtime code, `:code` as hex. */
export const CODE_KEY: HexString = '0x3a636f6465';

/** SqliteDatabase that stores each block's diff without the unchanged genesis runtime code. */
export class EmbeddedChainDb extends SqliteDatabase {
  readonly #genesisCode: string;

  /** Opens (creating if needed) the SQLite file at `location`; `genesisCode` is the genesis `:code` hex. */
  constructor(location: string, genesisCode: string) {
    super(location);
    this.#genesisCode = genesisCode.toLowerCase();
  }

  /** Saves a block, dropping `:code` from its diff when it is the genesis code. */
  override async saveBlock(block: BlockEntry): Promise<void> {
    const diff = block.storageDiff;
    if (diff && typeof diff[CODE_KEY] === 'string' && diff[CODE_KEY]?.toLowerCase() === this.#genesisCode) {
      const { [CODE_KEY]: _code, ...rest } = diff;
      return super.saveBlock({ ...block, storageDiff: rest });
    }
    return super.saveBlock(block);
  }

  /** Never cached: genesis storage is served from memory. */
  override async queryStorage(_blockHash: HexString, _key: HexString): Promise<KeyValueEntry | null> {
    return null;
  }

  /** Never cached (see queryStorage). */
  override async saveStorage(
    _blockHash: HexString,
    _key: HexString,
    _value: HexString | null,
  ): Promise<void> {}

  /** Never cached (see queryStorage). */
  override async saveStorageBatch(_entries: KeyValueEntry[]): Promise<void> {}
}
