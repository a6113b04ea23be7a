/**
 * Intel collateral for a worker's hardware quote, relayed to the dashboard page so the page
 * can verify the quote itself (page/quote-check.ts). The host is the party being checked, but
 * it cannot forge collateral: TCB info, QE identity, CRLs and their chains are signed up to
 * Intel's SGX root CA, which the verifier pins; the worst a host can do is withhold it, or
 * relay stale collateral, which the page's freshness check refuses.
 */
import type { Collateral } from '../../attestation/dcap/collateral.ts';
import type { CollateralSource } from '../../attestation/dcap/source.ts';
import { errorMessage } from '../../common/errors.ts';

/** What the host relays: the collateral and where it came from, or why there is none. */
export type RelayedCollateral = { collateral: Collateral; origin: string } | { collateralError: string };

let defaultSource: Promise<CollateralSource> | undefined;
/** Intel's PCS, cached in memory; loaded (with dcap-qvl) only when a hardware quote arrives. */
function pcs(): Promise<CollateralSource> {
  defaultSource ??= import('../../attestation/dcap/source.ts').then((m) => new m.PccsCollateralSource());
  return defaultSource;
}

/** Collateral for the quote `quoteHex` (lower-case hex) from `source` (default Intel's PCS), valid now. */
export async function relayCollateral(
  quoteHex: string,
  source: CollateralSource | undefined,
): Promise<RelayedCollateral> {
  try {
    const { parseQuote } = await import('../../attestation/dcap/quote.ts');
    const quote = parseQuote(Buffer.from(quoteHex, 'hex'));
    const got = await (source ?? (await pcs())).collateralFor(quote, Math.floor(Date.now() / 1000));
    return { collateral: got.collateral, origin: got.origin };
  } catch (e) {
    return { collateralError: errorMessage(e) };
  }
}
