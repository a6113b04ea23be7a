/**
 * Where a verifier gets the collateral for a quote: a fixed document (`--collateral`, offline
 * verification) or a PCCS, through a memory cache and an optional disk cache.
 */
import { ObscuraError } from '../../common/errors.ts';
import { CollateralCache, type CacheEntry, cacheEntry } from './cache.ts';
import { type Collateral, parseCollateral } from './collateral.ts';
import { type CollateralKey, fetchCollateral, INTEL_PCS_URL, normalizePccsUrl } from './pccs.ts';
import type { ParsedQuote } from './quote.ts';

/** Collateral and a note of where it came from. */
export interface SourcedCollateral {
  collateral: Collateral;
  /** e.g. "file c.json", "https://pccs… (cached in DIR)". */
  origin: string;
}

/** A supplier of collateral for quotes. */
export interface CollateralSource {
  /** Collateral for `quote`, to verify at `atSeconds`; throws an ObscuraError when there is none. */
  collateralFor(quote: ParsedQuote, atSeconds: number): Promise<SourcedCollateral>;
}

/** The same collateral for every quote (offline verification from a file). */
export function fixedCollateral(collateral: Collateral, origin: string): CollateralSource {
  return { collateralFor: async () => ({ collateral, origin }) };
}

/** Options of a PCCS source. */
export interface PccsSourceOptions {
  /** PCCS base URL (default Intel's PCS). */
  url?: string;
  /** Directory of the disk cache; omitted: memory only. */
  cacheDir?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** The collateral key of a quote; throws when the quote embeds no PCK certificate. */
export function collateralKey(quote: ParsedQuote): CollateralKey {
  if (!quote.pck) {
    throw new ObscuraError(
      'collateral_unavailable',
      `the quote embeds no PCK certificate chain (certification data type ${quote.certificationDataType}), so its platform is unknown; verify it with --collateral`,
      422,
    );
  }
  return { tee: quote.tee, fmspc: quote.pck.fmspc, ca: quote.pck.ca };
}

/** Collateral fetched from a PCCS and cached until its `nextUpdate`. */
export class PccsCollateralSource implements CollateralSource {
  readonly url: string;
  private readonly disk: CollateralCache | undefined;
  private readonly memory = new Map<string, CacheEntry>();

  constructor(private readonly opts: PccsSourceOptions = {}) {
    this.url = normalizePccsUrl(opts.url ?? INTEL_PCS_URL);
    this.disk = opts.cacheDir ? new CollateralCache(opts.cacheDir) : undefined;
  }

  async collateralFor(quote: ParsedQuote, atSeconds: number): Promise<SourcedCollateral> {
    const key = collateralKey(quote);
    const id = `${key.tee}/${key.fmspc}/${key.ca}`;
    const valid = (e: CacheEntry | undefined) =>
      e !== undefined && e.validFrom <= atSeconds && atSeconds <= e.validUntil;
    const inMemory = this.memory.get(id);
    if (valid(inMemory))
      return { collateral: (inMemory as CacheEntry).collateral, origin: `${this.url} (cached)` };
    const onDisk = this.disk?.get(key, atSeconds);
    if (onDisk) {
      this.memory.set(id, onDisk);
      return {
        collateral: onDisk.collateral,
        origin: `${onDisk.pccsUrl} (cached in ${this.disk?.dir}, fetched ${onDisk.fetchedAt})`,
      };
    }
    const fetched = parseCollateral(
      await fetchCollateral(this.url, key, {
        ...(this.opts.timeoutMs ? { timeoutMs: this.opts.timeoutMs } : {}),
        ...(this.opts.fetch ? { fetch: this.opts.fetch } : {}),
      }),
      `collateral from ${this.url}`,
    );
    this.memory.set(
      id,
      this.disk ? this.disk.put(key, this.url, fetched) : cacheEntry(key, this.url, fetched),
    );
    return { collateral: fetched, origin: `${this.url} (fetched now)` };
  }
}
