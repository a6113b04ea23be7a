/**
 * The hardware branch of verification: an Intel DCAP quote (TDX or SGX), bare or inside
 * Obscura evidence, checked against collateral and an attestation policy. Six named checks:
 * `tee kind`, `quote signature`, `tcb status`, `measurement`, `report data`,
 * `collateral freshness`. Each failure names its own reason; checks that would read the
 * quote's contents say "not evaluated" when the quote's signature does not verify, since its
 * contents are then nobody's word.
 *
 * The verdict's `measurement` is MRTD for TDX and MRENCLAVE for SGX (hex); the full
 * registers are in `verdict.quote`, and policies match on all of them.
 */
import { ObscuraError, errorMessage } from '../common/errors.ts';
import { type CollateralFacts, validityWindow } from './dcap/collateral.ts';
import { PccsCollateralSource, type CollateralSource, type SourcedCollateral } from './dcap/source.ts';
import { describeQuote, type ParsedQuote, parseQuote } from './dcap/quote.ts';
import { type DcapOutcome, verifyDcap } from './dcap/verify.ts';
import { keysDigest, type QuoteEvidence } from './evidence.ts';
import {
  acceptsTcb,
  acceptsTee,
  type AttestationPolicy,
  DEFAULT_POLICY,
  type MeasuredEnclave,
  matchMeasurement,
  maxCollateralAge,
} from './policy.ts';
import type { AttestationExpectations, AttestationVerdict, Check } from './verify.ts';

/** What a quote verdict adds for reporting (`verdict.quote`). */
export interface QuoteFacts {
  /** e.g. "Intel TDX, quote v4, TD 1.0 report". */
  kind: string;
  parsed: ParsedQuote;
  tcb?: { status: string; advisoryIds: string[] };
  collateral?: {
    origin: string;
    evaluatedAt: number;
    documents: { name: string; issued: string; nextUpdate: string | null }[];
  };
}

let defaultSource: CollateralSource | undefined;
/** Collateral when the caller names no source: Intel's PCS, cached in memory. */
function defaultCollateral(): CollateralSource {
  defaultSource ??= new PccsCollateralSource();
  return defaultSource;
}

const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
const short = (h: string) => (h.length > 16 ? `${h.slice(0, 16)}…` : h);
/** A duration for people: 17 min, 5.2 h, 12.0 d. */
function age(s: number): string {
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 2 * 86_400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}
const NOT_EVALUATED =
  'not evaluated: the quote signature did not verify, so its contents are unauthenticated';

function measured(q: ParsedQuote): MeasuredEnclave {
  return q.tee === 'tdx'
    ? {
        tee: 'tdx',
        mrtd: q.td.mrTd,
        rtmr0: q.td.rtMr0,
        rtmr1: q.td.rtMr1,
        rtmr2: q.td.rtMr2,
        rtmr3: q.td.rtMr3,
      }
    : { tee: 'sgx', mrenclave: q.sgx.mrEnclave, mrsigner: q.sgx.mrSigner };
}

function describeMeasured(m: MeasuredEnclave): string {
  if (m.tee === 'tdx')
    return `MRTD ${short(m.mrtd)}, RTMR0 ${short(m.rtmr0)}, RTMR1 ${short(m.rtmr1)}, RTMR2 ${short(m.rtmr2)}, RTMR3 ${short(m.rtmr3)}`;
  if (m.tee === 'sgx') return `MRENCLAVE ${short(m.mrenclave)}, MRSIGNER ${short(m.mrsigner)}`;
  return `measurement ${short(m.measurement)}`;
}

/** The `collateral freshness` check: every document valid at `at`, and young enough. */
export function freshnessCheck(
  facts: CollateralFacts,
  at: number,
  policy: AttestationPolicy,
  origin: string,
): Check {
  const maxAge = maxCollateralAge(policy);
  const problems: string[] = [];
  for (const d of facts.dated) {
    if (at < d.issued)
      problems.push(`${d.name} is not yet valid (issued ${iso(d.issued)}; verification time ${iso(at)})`);
    else if (d.nextUpdate !== undefined && at > d.nextUpdate)
      problems.push(
        `${d.name} expired (next update was due ${iso(d.nextUpdate)}; verification time ${iso(at)})`,
      );
    else if (maxAge !== undefined && d.ageBound && at - d.issued > maxAge) {
      problems.push(
        `${d.name} is too old: issued ${iso(d.issued)}, ${age(at - d.issued)} before the verification time (policy max_collateral_age ${policy.max_collateral_age})`,
      );
    }
  }
  if (problems.length > 0)
    return { name: 'collateral freshness', ok: false, detail: `${problems.join('; ')}; from ${origin}` };
  const { end } = validityWindow(facts);
  const oldest = Math.min(...facts.dated.filter((d) => d.ageBound).map((d) => d.issued));
  const limit = maxAge === undefined ? '' : ` (limit ${policy.max_collateral_age})`;
  return {
    name: 'collateral freshness',
    ok: true,
    detail: `valid at ${iso(at)} until ${iso(end)}; oldest of TCB info, QE identity and PCK CRL issued ${age(at - oldest)} before${limit}; from ${origin}`,
  };
}

function reportDataCheck(
  q: ParsedQuote,
  expect: AttestationExpectations,
  evidence: QuoteEvidence | undefined,
): Check {
  const add = (ok: boolean, detail: string): Check => ({ name: 'report data', ok, detail });
  const actual = q.reportData;
  if (expect.reportData !== undefined && expect.reportData.toLowerCase() !== actual) {
    return add(false, `${short(actual)} is not the expected ${short(expect.reportData.toLowerCase())}`);
  }
  if (!evidence) {
    return expect.reportData !== undefined
      ? add(true, `${short(actual)} is the expected value`)
      : add(true, `${actual} (not checked: no expected value given; pass --report-data HEX)`);
  }
  const digest = keysDigest(evidence.keys);
  if (actual.slice(0, 64) !== digest)
    return add(
      false,
      `does not bind the enclave's keys: it starts ${short(actual)}, the keys' digest is ${short(digest)}`,
    );
  if (actual.slice(64) !== evidence.nonce)
    return add(
      false,
      `carries nonce ${short(actual.slice(64))}, not the evidence's nonce ${short(evidence.nonce)}`,
    );
  if (expect.nonce !== undefined && expect.nonce !== evidence.nonce) {
    return add(
      false,
      `the quote was made for nonce ${short(evidence.nonce)}, not the nonce sent (${short(expect.nonce)}): replayed evidence?`,
    );
  }
  if (expect.keys?.recipient !== undefined && expect.keys.recipient !== evidence.keys.recipient) {
    return add(
      false,
      `the bound recipient ${short(evidence.keys.recipient)} is not the expected one ${short(expect.keys.recipient)}`,
    );
  }
  if (expect.keys?.signingKey !== undefined && expect.keys.signingKey !== evidence.keys.signingKey) {
    return add(
      false,
      `the bound signing key ${short(evidence.keys.signingKey)} is not the expected one ${short(expect.keys.signingKey)}`,
    );
  }
  const fresh =
    expect.nonce !== undefined
      ? 'the nonce sent'
      : `nonce ${short(evidence.nonce)} (stored evidence: not a nonce sent now)`;
  return add(
    true,
    `binds recipient ${short(evidence.keys.recipient)}, signing key ${short(evidence.keys.signingKey)} and ${fresh}`,
  );
}

function measurementCheck(m: MeasuredEnclave, headline: string, expect: AttestationExpectations): Check {
  const add = (ok: boolean, detail: string): Check => ({ name: 'measurement', ok, detail });
  if (expect.measurements !== undefined && !expect.measurements.includes(headline)) {
    const register = m.tee === 'tdx' ? 'MRTD' : 'MRENCLAVE';
    const code = m.tee === 'tdx' && expect.measurements.some((x) => /^[0-9a-f]{64}$/.test(x));
    const why = code
      ? `${register} is not in the accepted list, whose 32-byte code measurements a TDX quote does not attest (accept TDX enclaves by MRTD and RTMRs in a policy)`
      : `${register} is not in the accepted list`;
    return add(false, `${describeMeasured(m)}: ${why}`);
  }
  if (!expect.policy)
    return add(
      true,
      `${describeMeasured(m)} (${expect.measurements ? 'in the accepted list; ' : ''}not checked against a policy)`,
    );
  const r = matchMeasurement(expect.policy, m);
  return r.ok
    ? add(true, `${describeMeasured(m)}: matches policy entry ${r.entry}`)
    : add(false, `${describeMeasured(m)} ${r.reason}`);
}

/**
 * Verify a raw quote (binary); throws 'quote_invalid' if it is not one, never for a failed
 * check. `--report-data` style binding comes from `expect.reportData`.
 */
export function verifyQuote(
  raw: Uint8Array,
  expect: AttestationExpectations = {},
): Promise<AttestationVerdict> {
  return verifyParsed(raw, parseQuote(raw), expect, undefined);
}

async function verifyParsed(
  raw: Uint8Array,
  q: ParsedQuote,
  expect: AttestationExpectations,
  evidence: QuoteEvidence | undefined,
): Promise<AttestationVerdict> {
  const at = expect.at ?? Math.floor(Date.now() / 1000);
  const policy = expect.policy ?? DEFAULT_POLICY;
  const kind = describeQuote(q);
  const facts: QuoteFacts = { kind, parsed: q };
  const checks: Check[] = [];

  // tee kind
  let teeProblem: string | undefined;
  if (evidence && evidence.tee !== q.tee)
    teeProblem = `the evidence says ${evidence.tee}, the quote is ${q.tee}`;
  else if (!acceptsTee(policy, q.tee))
    teeProblem = `not an accepted TEE kind (accepted: ${policy.tee.join(', ')})`;
  else if (q.debug) teeProblem = 'a debug enclave: its memory is open to the host';

  // signature, TCB and collateral
  let outcome: DcapOutcome | undefined;
  let sourced: SourcedCollateral | undefined;
  let failure: string | undefined;
  try {
    sourced = await (expect.collateral ?? defaultCollateral()).collateralFor(q, at);
  } catch (e) {
    failure = `no collateral: ${errorMessage(e)}`;
  }
  if (sourced) {
    try {
      outcome = verifyDcap(raw, q, sourced.collateral, at);
    } catch (e) {
      failure = `verification failed: ${errorMessage(e)}`;
    }
  }
  const origin = sourced?.origin ?? '';
  if (!teeProblem && outcome?.attributes) teeProblem = `refused: ${outcome.attributes}`;
  checks.push({
    name: 'tee kind',
    ok: !teeProblem,
    detail: teeProblem ? `${kind}: ${teeProblem}` : `${kind} (accepted: ${policy.tee.join(', ')})`,
  });

  checks.push({
    name: 'quote signature',
    ok: outcome?.signature.ok === true,
    detail: outcome?.signature.detail ?? (failure as string),
  });
  const authentic = outcome?.quoteAuthentic === true;

  const tcb = outcome?.tcb;
  if (tcb && 'status' in tcb) {
    facts.tcb = { status: tcb.status, advisoryIds: tcb.advisoryIds };
    const adv = tcb.advisoryIds.length ? `advisories ${tcb.advisoryIds.join(', ')}` : 'no advisories';
    const ok = acceptsTcb(policy, tcb.status);
    checks.push({
      name: 'tcb status',
      ok,
      detail: ok
        ? `${tcb.status} (${adv}); accepted`
        : `${tcb.status} (${adv}) is not an accepted status (accepted: ${policy.tcb.join(', ')})`,
    });
  } else {
    checks.push({ name: 'tcb status', ok: false, detail: tcb?.error ?? 'not evaluated: no collateral' });
  }

  const m = measured(q);
  const headline = m.tee === 'tdx' ? m.mrtd : (m as { mrenclave: string }).mrenclave;
  checks.push(
    authentic
      ? measurementCheck(m, headline, expect)
      : { name: 'measurement', ok: false, detail: NOT_EVALUATED },
  );
  checks.push(
    authentic
      ? reportDataCheck(q, expect, evidence)
      : { name: 'report data', ok: false, detail: NOT_EVALUATED },
  );

  if (outcome?.collateral) {
    checks.push(freshnessCheck(outcome.collateral, at, policy, origin));
    facts.collateral = {
      origin,
      evaluatedAt: outcome.evaluatedAt,
      documents: outcome.collateral.dated.map((d) => ({
        name: d.name,
        issued: iso(d.issued),
        nextUpdate: d.nextUpdate === undefined ? null : iso(d.nextUpdate),
      })),
    };
  } else {
    checks.push({
      name: 'collateral freshness',
      ok: false,
      detail: outcome?.collateralError ?? failure ?? 'no collateral',
    });
  }
  return {
    ok: checks.every((c) => c.ok),
    tee: q.tee,
    simulated: false,
    measurement: headline,
    checks,
    quote: facts,
  };
}

/** Verify quote evidence: the quote, and its report data bound to the keys and nonce beside it. */
export async function verifyQuoteEvidence(
  evidence: QuoteEvidence,
  expect: AttestationExpectations = {},
): Promise<AttestationVerdict> {
  const raw = Buffer.from(evidence.quote, 'hex');
  let q: ParsedQuote;
  try {
    q = parseQuote(raw);
  } catch (e) {
    const why = e instanceof ObscuraError ? e.message : errorMessage(e);
    const checks: Check[] = [
      { name: 'tee kind', ok: false, detail: why },
      ...['quote signature', 'tcb status', 'measurement', 'report data', 'collateral freshness'].map(
        (name) => ({ name, ok: false, detail: 'not evaluated: no quote' }),
      ),
    ];
    return { ok: false, tee: evidence.tee, simulated: false, measurement: '', checks };
  }
  return verifyParsed(raw, q, expect, evidence);
}
