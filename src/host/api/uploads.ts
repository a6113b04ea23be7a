/**
 * Per-account upload limits: how many uploads one account may have in flight, and how many
 * sealed bytes it may keep stored (committed datasets plus what it is uploading now). Keys
 * cost nothing to make, so these bound what one account can take, not what the host has:
 * the operator sets both (OBSCURA_UPLOADS_IN_FLIGHT, OBSCURA_STORAGE_QUOTA_BYTES).
 */
import { ObscuraError } from '../../common/errors.ts';

/** The limits, per account. */
export interface UploadLimits {
  /** Uploads one account may have in flight at once. */
  inFlightPerAccount: number;
  /** Sealed bytes one account may keep stored, uploads in flight included. */
  bytesPerAccount: number;
  /** An upload that sends nothing for this long is cut off (upload_timeout). */
  idleTimeoutMs: number;
}

/** Safe defaults: two uploads at once, 20 GiB stored per account, one idle minute. */
export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  inFlightPerAccount: 2,
  bytesPerAccount: 20 * 1024 ** 3,
  idleTimeoutMs: 60_000,
};

/** One upload's slot: the most bytes it may write, and the release of the slot (idempotent). */
export interface UploadSlot {
  maxBytes: number;
  /** Whether `maxBytes` comes from the account's quota rather than the host's upload size limit. */
  quotaBound: boolean;
  release(): void;
}

/** Counts uploads in flight per account, in this host process. */
export class UploadGate {
  private readonly inFlight = new Map<string, number>();
  constructor(private readonly limits: UploadLimits) {}

  /**
   * Take a slot for `account`, which keeps `storedBytes` already: throws upload_limit_exceeded
   * (429) with too many uploads in flight, storage_quota_exceeded (413) with no room left.
   * Each upload may stream up to the room left; the commit checks the quota again with the
   * real size (`fits`), so uploads in flight together cannot store past it.
   */
  begin(account: string, storedBytes: number, maxUploadBytes: number): UploadSlot {
    const count = this.inFlight.get(account) ?? 0;
    if (count >= this.limits.inFlightPerAccount) {
      throw new ObscuraError(
        'upload_limit_exceeded',
        `at most ${this.limits.inFlightPerAccount} uploads per account at once; wait for one to finish`,
        429,
      );
    }
    const room = this.limits.bytesPerAccount - storedBytes;
    if (room <= 0) throw storageQuotaExceeded(this.limits.bytesPerAccount);
    const maxBytes = Math.min(room, maxUploadBytes);
    this.inFlight.set(account, count + 1);
    let released = false;
    return {
      maxBytes,
      quotaBound: room < maxUploadBytes,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.inFlight.get(account) ?? 1) - 1;
        if (left === 0) this.inFlight.delete(account);
        else this.inFlight.set(account, left);
      },
    };
  }

  /** Throw storage_quota_exceeded unless `bytes` more fit beside `storedBytes` (checked at commit). */
  assertFits(storedBytes: number, bytes: number): void {
    if (storedBytes + bytes > this.limits.bytesPerAccount)
      throw storageQuotaExceeded(this.limits.bytesPerAccount);
  }
}

/** The error for an upload that does not fit the account's storage quota. */
export function storageQuotaExceeded(bytesPerAccount: number): ObscuraError {
  return new ObscuraError(
    'storage_quota_exceeded',
    `this upload does not fit the account's storage quota of ${bytesPerAccount} bytes`,
    413,
  );
}
