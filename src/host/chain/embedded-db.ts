/**
 * The embedded chain's block store: chopsticks-core's `Database` over better-sqlite3 (the
 * SQLite the host's store already uses, so an install compiles SQLite once, not twice).
 *
 * The file layout is the one chopsticks-db (typeorm) wrote, tables `block`,
 * `key_value_pair`, `paged_keys` and `rpc_call` with the same columns and encodings
 * (extrinsics comma-joined, storage diff as JSON), so a `chain.sqlite` made by an earlier
 * Obscura resumes unchanged. Two corrections over chopsticks-db's behaviour:
 *
 * - Every block chopsticks saves carries the runtime `:code` (~1.2 MB) in its storage diff,
 *   so the file grew ~1.2 MB a block. We drop `:code` from a saved diff when it equals the
 *   genesis code (a real runtime upgrade, with different code, is still kept). A block loaded
 *   back without `:code` reads it through its parents from the genesis state, and chopsticks
 *   keeps the parent's metadata because the diff does not touch `:code`.
 * - Genesis storage never needs caching (the genesis spec is in memory), so the per-key
 *   storage cache is off; it would otherwise copy the 1.2 MB code into the file once.
 *
 * (The other fault, a fresh block #1 replacing the stored one on resume, is handled where
 * the chain is started: embedded.ts loads the highest stored block as head instead.)
 */
import type { BlockEntry, Database as ChainDatabase, KeyValueEntry } from '@acala-network/chopsticks-core';
import type { HexString } from '@polkadot/util/types';
import Database from 'better-sqlite3';

/** Storage key of the runtime code, `:code` as hex. */
export const CODE_KEY: HexString = '0x3a636f6465';

// chopsticks-db's schema, as typeorm created it (IF NOT EXISTS: an older file is reused as is).
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS "block" ("hash" varchar PRIMARY KEY NOT NULL, "number" integer NOT NULL,
    "header" text NOT NULL, "parentHash" varchar, "extrinsics" text NOT NULL, "storageDiff" text);
  CREATE TABLE IF NOT EXISTS "key_value_pair" ("blockHash" varchar NOT NULL, "key" varchar NOT NULL,
    "value" text, PRIMARY KEY ("blockHash", "key"));
  CREATE TABLE IF NOT EXISTS "paged_keys" ("blockHash" varchar NOT NULL, "prefix" varchar NOT NULL,
    "keys" text NOT NULL, PRIMARY KEY ("blockHash", "prefix"));
  CREATE TABLE IF NOT EXISTS "rpc_call" ("scope" varchar NOT NULL, "method" varchar NOT NULL,
    "params" varchar NOT NULL, "result" text NOT NULL, PRIMARY KEY ("scope", "method", "params"));`;

interface BlockRow {
  hash: HexString;
  number: number;
  header: HexString;
  parentHash: HexString | null;
  extrinsics: string;
  storageDiff: string | null;
}

function toEntry(row: BlockRow | undefined): BlockEntry | null {
  if (!row) return null;
  return {
    hash: row.hash,
    number: row.number,
    header: row.header,
    parentHash: row.parentHash,
    // typeorm's simple-array: comma-joined, the empty string for no extrinsics.
    extrinsics: row.extrinsics.length > 0 ? (row.extrinsics.split(',') as HexString[]) : [],
    storageDiff: row.storageDiff === null ? null : (JSON.parse(row.storageDiff) as BlockEntry['storageDiff']),
  };
}

/** chopsticks' block store in `${dataDir}/chain.sqlite`, without the unchanged genesis runtime code. */
export class EmbeddedChainDb implements ChainDatabase {
  readonly #db: Database.Database;
  readonly #genesisCode: string;

  /** Opens (creating if needed) the SQLite file at `location`; `genesisCode` is the genesis `:code` hex. */
  constructor(location: string, genesisCode: string) {
    this.#db = new Database(location);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.exec(SCHEMA);
    this.#genesisCode = genesisCode.toLowerCase();
  }

  /** Closes the file. */
  close = async (): Promise<void> => {
    if (this.#db.open) this.#db.close();
  };

  /** Saves a block (replacing any other block of its number), without `:code` when it is the genesis code. */
  saveBlock = async (block: BlockEntry): Promise<void> => {
    let diff = block.storageDiff;
    if (diff && typeof diff[CODE_KEY] === 'string' && diff[CODE_KEY]?.toLowerCase() === this.#genesisCode) {
      const { [CODE_KEY]: _code, ...rest } = diff;
      diff = rest;
    }
    const row = {
      hash: block.hash,
      number: block.number,
      header: block.header,
      parentHash: block.parentHash,
      extrinsics: block.extrinsics.join(','),
      storageDiff: diff === null ? null : JSON.stringify(diff),
    };
    // As chopsticks-db: one block per number, the new one wins.
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM "block" WHERE "number" = ?').run(row.number);
      this.#db
        .prepare(
          `INSERT INTO "block" ("hash", "number", "header", "parentHash", "extrinsics", "storageDiff")
           VALUES (@hash, @number, @header, @parentHash, @extrinsics, @storageDiff)
           ON CONFLICT ("hash") DO UPDATE SET "number" = excluded."number", "header" = excluded."header",
             "parentHash" = excluded."parentHash", "extrinsics" = excluded."extrinsics",
             "storageDiff" = excluded."storageDiff"`,
        )
        .run(row);
    })();
  };

  /** The stored block with this hash, or null. */
  queryBlock = async (hash: HexString): Promise<BlockEntry | null> =>
    toEntry(this.#db.prepare('SELECT * FROM "block" WHERE "hash" = ?').get(hash) as BlockRow | undefined);

  /** The stored block of this number, or null. */
  queryBlockByNumber = async (number: number): Promise<BlockEntry | null> =>
    toEntry(
      this.#db.prepare('SELECT * FROM "block" WHERE "number" = ? LIMIT 1').get(number) as
        | BlockRow
        | undefined,
    );

  /** The stored block of the highest number, or null when none is stored. */
  queryHighestBlock = async (): Promise<BlockEntry | null> =>
    toEntry(
      this.#db.prepare('SELECT * FROM "block" ORDER BY "number" DESC LIMIT 1').get() as BlockRow | undefined,
    );

  /** Removes the block with this hash. */
  deleteBlock = async (hash: HexString): Promise<void> => {
    this.#db.prepare('DELETE FROM "block" WHERE "hash" = ?').run(hash);
  };

  /** How many blocks are stored. */
  blocksCount = async (): Promise<number> =>
    (this.#db.prepare('SELECT count(*) AS n FROM "block"').get() as { n: number }).n;

  /** Never cached: genesis storage is served from memory. */
  saveStorage = async (_blockHash: HexString, _key: HexString, _value: HexString | null): Promise<void> => {};

  /** Never cached (see saveStorage). */
  saveStorageBatch = async (_entries: KeyValueEntry[]): Promise<void> => {};

  /** Never cached (see saveStorage). */
  queryStorage = async (_blockHash: HexString, _key: HexString): Promise<KeyValueEntry | null> => null;
}
