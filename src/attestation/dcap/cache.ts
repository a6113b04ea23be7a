/**
 * The on-disk collateral cache: one JSON file per platform kind (TEE, FMSPC, PCK CA), reused
 * while the collateral is valid at the verification time (from the latest issue date of its
 * documents to the earliest `nextUpdate`). Files are written atomically; a file that does not
 * parse is ignored and replaced. The cache holds only Intel-signed public data, and every
 * use verifies it again, so a tampered file can make verification fail but never pass.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { type Collateral, CollateralSchema, collateralFacts, validityWindow } from './collateral.ts';
import type { CollateralKey } from './pccs.ts';

const EntrySchema = z.object({
  format: z.literal('obscura-collateral-cache/1'),
  key: z.object({ tee: z.enum(['tdx', 'sgx']), fmspc: z.string(), ca: z.enum(['processor', 'platform']) }),
  pccsUrl: z.string(),
  fetchedAt: z.iso.datetime(),
  /** Unix seconds: the collateral is valid from `validFrom` to `validUntil`. */
  validFrom: z.number(),
  validUntil: z.number(),
  collateral: CollateralSchema,
});
/** One cached collateral. */
export type CacheEntry = z.infer<typeof EntrySchema>;

/** The file name of a key: `<tee>-<fmspc>-<ca>.json`. */
export function cacheFileName(key: CollateralKey): string {
  return `${key.tee}-${key.fmspc.toLowerCase()}-${key.ca}.json`;
}

/** The cache entry of freshly fetched collateral. */
export function cacheEntry(key: CollateralKey, pccsUrl: string, collateral: Collateral): CacheEntry {
  const { start, end } = validityWindow(collateralFacts(collateral));
  return {
    format: 'obscura-collateral-cache/1',
    key: { tee: key.tee, fmspc: key.fmspc.toLowerCase(), ca: key.ca },
    pccsUrl,
    fetchedAt: new Date().toISOString(),
    validFrom: start,
    validUntil: Number.isFinite(end) ? end : start,
    collateral,
  };
}

/** A directory of cached collateral. */
export class CollateralCache {
  constructor(readonly dir: string) {}

  /** The cached collateral for `key` if it is valid at `atSeconds`, else undefined. */
  get(key: CollateralKey, atSeconds: number): CacheEntry | undefined {
    let entry: CacheEntry;
    try {
      entry = EntrySchema.parse(JSON.parse(readFileSync(join(this.dir, cacheFileName(key)), 'utf8')));
    } catch {
      return undefined; // absent or unreadable: fetch again
    }
    return entry.validFrom <= atSeconds && atSeconds <= entry.validUntil ? entry : undefined;
  }

  /** Store collateral for `key`; returns the entry written. */
  put(key: CollateralKey, pccsUrl: string, collateral: Collateral): CacheEntry {
    const entry = cacheEntry(key, pccsUrl, collateral);
    mkdirSync(this.dir, { recursive: true });
    const path = join(this.dir, cacheFileName(key));
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(entry)}\n`);
    renameSync(tmp, path);
    return entry;
  }
}
