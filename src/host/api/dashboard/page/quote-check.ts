/**
 * A hardware worker's DCAP quote verified in the page, before the owner seals anything to it:
 * the CLI's own verification (src/attestation/verify-quote.ts, which `obscura attest` runs:
 * @phala/dcap-qvl's signature chain and TCB evaluation, Obscura's CRL authentication and
 * collateral freshness) with the default attestation policy (TDX or SGX, TCB UpToDate only,
 * no debug enclave), over collateral the host relays. The host cannot forge that collateral:
 * every document is signed up to Intel's SGX root CA, which dcap-qvl pins; stale collateral
 * fails the freshness check at the page's own clock.
 *
 * Loaded on demand (its own chunk, with dcap-qvl): only a hardware worker's check needs it.
 */
import { CollateralSchema } from '../../../../attestation/dcap/collateral.ts';
import { fixedCollateral } from '../../../../attestation/dcap/source.ts';
import { QuoteEvidenceSchema } from '../../../../attestation/evidence.ts';
import { verifyQuoteEvidence } from '../../../../attestation/verify-quote.ts';
import type { Check } from './workers.ts';

// The measurement is the owner's own list (seal-attest.ts); the rest are the CLI's checks.
const LABEL: Record<string, string> = {
  'tee kind': 'quote is from a production enclave of an accepted kind (checked here)',
  'quote signature': 'quote signature chain up to Intel’s root CA (checked here)',
  'tcb status': 'TCB status is UpToDate (checked here)',
  'report data': 'authenticated report data binds the keys and our nonce (checked here)',
  'collateral freshness': 'Intel collateral is current (checked here)',
};

/**
 * Verify quote evidence `ev` against `collateral` (both as the host sent them, untrusted)
 * for `nonce`, at `at` (Unix seconds, the page's clock). Never throws.
 */
export async function checkQuoteHere(
  ev: unknown,
  collateral: unknown,
  nonce: string,
  at: number,
): Promise<Check[]> {
  const evidence = QuoteEvidenceSchema.safeParse(ev);
  if (!evidence.success) return [[false, LABEL['quote signature'] as string, 'the evidence is malformed']];
  const c = CollateralSchema.safeParse(collateral);
  if (!c.success) return [[false, LABEL['quote signature'] as string, 'the relayed collateral is malformed']];
  try {
    const verdict = await verifyQuoteEvidence(evidence.data, {
      collateral: fixedCollateral(c.data, 'collateral relayed by the host'),
      nonce,
      at,
    });
    return verdict.checks
      .filter((k) => k.name in LABEL)
      .map((k): Check => [k.ok, LABEL[k.name] as string, k.detail]);
  } catch (e) {
    return [[false, LABEL['quote signature'] as string, `not verified: ${String(e)}`]];
  }
}
