/**
 * The page's own decision, before it seals anything, on whether a worker may receive the
 * owner's data: fresh evidence for a random nonce (workers.ts compares its fields), and then
 * the owner's terms: the attested measurement is one the owner accepts, the recipient the
 * file is sealed to is the one the evidence binds (never the host's listing alone), and a
 * simulated TEE only when the owner says so.
 *
 * A hardware quote is verified in the page itself (quote-check.ts: the CLI's checks of the
 * signature chain up to Intel's root, TCB status UpToDate, collateral freshness), with
 * collateral the host relays but cannot forge (it is signed up to Intel's root CA, which the
 * verifier pins). Two things stay with `obscura attest`, as a clearly labelled fallback the
 * owner ticks: a quote the host relays no collateral for (the page may talk only to its own
 * origin, so it cannot fetch from Intel), and a TDX worker's code measurement, which is not
 * in the quote but replayed from the event log.
 */
import type { WorkerRecord } from '../../../../contracts/worker-record.ts';
import type { Json } from './api.ts';
import { short, str } from './dom.ts';
import { type Check, quoteFields, verifyWorker } from './workers.ts';

/** What the owner accepts. */
export interface SealTerms {
  /** Enclave measurements (hex) the owner accepts to decrypt the dataset. */
  measurements: string[];
  /** Accept a simulated TEE (test data only). */
  allowSimulated: boolean;
  /** Fallback: the owner verified this hardware worker with `obscura attest` (counts only for what the page cannot check). */
  quoteVerified: boolean;
}

/** The verdict: every check, and the attested recipient to seal to when all passed. */
export interface SealVerdict {
  ok: boolean;
  checks: Check[];
  recipient: string | null;
  simulated: boolean;
}

/** The measurement the evidence proves: the simulated report's, or the quote's MRENCLAVE/MRTD. */
function attestedMeasurement(w: WorkerRecord, ev: Json): string | null {
  if (ev.tee === 'simulated') return str((ev.report as Json | undefined)?.measurement) || null;
  const qf = quoteFields(ev.quote);
  // A code measurement is not in a TDX quote: `obscura attest` replays it from the event log.
  if (w.measurementSource !== 'hardware') return null;
  return qf ? qf.register[1] : null;
}

/** Ask `w` for fresh evidence and decide by `terms`; never throws for a failed check. */
export async function attestForSealing(w: WorkerRecord, terms: SealTerms): Promise<SealVerdict> {
  const { items, ev, quote } = await verifyWorker(w);
  const simulated = ev.tee === 'simulated';
  const measured = attestedMeasurement(w, ev);
  const keys = (ev.keys ?? {}) as Json;
  // The page's own quote checks are among `items`; the tick stands in only when it had none.
  const fallback: Check[] =
    simulated || !quote || 'checks' in quote
      ? []
      : [
          [
            terms.quoteVerified,
            'fallback: quote signature and TCB verified with obscura attest',
            terms.quoteVerified
              ? `you confirmed it (${quote.unavailable})`
              : `${quote.unavailable}: run obscura attest and tick the fallback`,
          ],
        ];
  const checks: Check[] = [
    ...items,
    ...(simulated
      ? [
          [
            terms.allowSimulated,
            'a simulated TEE is accepted',
            terms.allowSimulated
              ? 'accepted because you ticked it: this is not hardware attestation'
              : 'refused unless you accept a simulated TEE (test data only)',
          ] satisfies Check,
        ]
      : fallback),
    measured === null
      ? [
          !simulated && terms.quoteVerified && terms.measurements.includes(w.measurement),
          'measurement is one you accept',
          `code measurement ${short(w.measurement, 16)} (replayed from the event log by obscura attest, which the page cannot: tick the fallback)`,
        ]
      : [
          terms.measurements.includes(measured),
          'measurement is one you accept',
          `${short(measured, 16)}${terms.measurements.includes(measured) ? '' : ' is not in your list'}`,
        ],
    [
      typeof keys.recipient === 'string' && keys.recipient.startsWith('age1'),
      'the evidence binds an age recipient to seal to',
      short(keys.recipient, 20),
    ],
  ];
  const ok = checks.every((c) => c[0]);
  return { ok, checks, recipient: ok ? str(keys.recipient) : null, simulated };
}
