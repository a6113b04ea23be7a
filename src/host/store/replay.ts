/**
 * The signed requests the API host has accepted, kept for as long as their timestamp could
 * still be accepted, so that a captured request cannot be replayed, not even after the host
 * restarts. Keyed by the hash of what was signed (account and signed message), never by the
 * header's spelling: a signature re-encoded (other hex case) or re-made for the same message
 * is the same request.
 */
import type { Db } from './db.ts';

/** Seen-request keys in the metadata database. */
export class ReplayStore {
  private lastPrune = 0;
  constructor(private readonly db: Db) {}

  /**
   * Record `key` until `expiresAt` (ms since the epoch). False when it was already recorded
   * and has not expired: the request is a replay.
   */
  remember(key: Buffer, expiresAt: number, now: number): boolean {
    // Pruning once a second keeps the table at one window's worth without a cost per request.
    if (now - this.lastPrune > 1000) {
      this.db.prepare('DELETE FROM seen_requests WHERE expires_at < ?').run(now);
      this.lastPrune = now;
    }
    const r = this.db
      .prepare(
        'INSERT INTO seen_requests (request_key, expires_at) VALUES (?, ?) ON CONFLICT (request_key) DO UPDATE SET expires_at = excluded.expires_at WHERE seen_requests.expires_at < ?',
      )
      .run(key, expiresAt, now);
    return r.changes > 0;
  }
}
