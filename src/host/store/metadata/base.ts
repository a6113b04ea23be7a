/**
 * The root of the Metadata class: the database every concept's queries share, and the
 * version that says when any of them may have changed.
 */
import { type Db, writeCount } from '../db.ts';

/** The metadata database, as each concept's layer of Metadata reads it. */
export class MetadataBase {
  constructor(protected readonly db: Db) {}

  /**
   * A value that changes whenever the database may have: a write through this connection
   * (every store of the host shares it) or a commit by any other connection. Lets a reader
   * keep what it derived from the stores until then (access.ts).
   */
  version(): string {
    const { data_version: v } = this.db.prepare('PRAGMA data_version').get() as { data_version: number };
    return `${writeCount(this.db)}:${v}`;
  }
}
