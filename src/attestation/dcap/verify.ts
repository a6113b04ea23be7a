/**
 * Verifying a DCAP quote against collateral with @phala/dcap-qvl's `verify`, taken apart into
 * the facts Obscura's checks report one by one: the signature chain, the TCB status with its
 * advisories, the report attributes, and the collateral's dates.
 *
 * dcap-qvl stops at the first problem and checks the collateral's dates before any
 * signature. So that an expired collateral does not hide whether the quote is genuine, the
 * collateral's dates are read here first, and when the verification time lies outside them
 * dcap-qvl is run at the nearest moment inside them; the freshness check still fails, so
 * such a verdict is never accepted, but the other checks say what they found. Obscura also
 * authenticates the CRLs (signed by Intel's root and by the PCK CA that issued the quote's
 * PCK certificate), which dcap-qvl uses without checking.
 */
import { constants, type TcbStatus, utils, verify as dcapVerify } from '@phala/dcap-qvl';
import { errorMessage } from '../../common/errors.ts';
import {
  type Collateral,
  type CollateralFacts,
  collateralFacts,
  memoFields,
  sameFields,
  validityWindow,
} from './collateral.ts';
import { certificateNames, checkCrlIssuer } from './crl.ts';
import { certificateSignedBy } from './p256.ts';
import { issuerCommonName, type ParsedQuote, parsedChain, pckChain } from './quote.ts';

/** Intel's TCB status names (dcap-qvl's). */
export type { TcbStatus };

/** What dcap-qvl and Obscura's collateral checks found. */
export interface DcapOutcome {
  /** The time dcap-qvl verified at (Unix seconds): `at`, or the nearest moment the collateral was valid. */
  evaluatedAt: number;
  signature: { ok: boolean; detail: string };
  /** Whether the quote itself verified up to Intel's root (its contents are authentic), even if the CRLs did not. */
  quoteAuthentic: boolean;
  /** The TCB status, when the signature verified and dcap-qvl got as far; else why not. */
  tcb: { status: TcbStatus; advisoryIds: string[] } | { error: string };
  /** dcap-qvl's refusal of the report's attributes (debug TD, SEPT_VE_DISABLE off), if any. */
  attributes?: string;
  /** The collateral's dated documents; undefined when it could not be read. */
  collateral?: CollateralFacts;
  /** Why the collateral could not be read. */
  collateralError?: string;
}

// dcap-qvl's messages, by the stage that raised them. Anything unlisted counts as a
// signature-chain failure (fail closed).
const TCB_MESSAGES = [
  /^Fmspc mismatch/,
  /with non-(TDX|SGX) TCB info/,
  /^No matching TCB level/,
  /^No (SGX|TDX) components/,
  /^Failed to get TD10 report/,
  /^TCB status is invalid/,
];
const ATTRIBUTE_MESSAGES = [/^Reserved bits in TD attributes/, /^SEPT_VE_DISABLE/, /^Invalid mr service td/];

const rootDer: Uint8Array = constants.TRUSTED_ROOT_CA_DER;
const crlVerdicts = new WeakMap<Collateral, { of: unknown[]; problem: string | undefined }>();

/** Whether the collateral's CRLs are Intel's: a reason when not. Memoised per collateral. */
function crlProblem(c: Collateral, facts: CollateralFacts): string | undefined {
  const hit = crlVerdicts.get(c);
  if (hit && sameFields(hit.of, memoFields(c))) return hit.problem;
  let problem: string | undefined;
  const root = checkCrlIssuer(facts.rootCaCrl, rootDer);
  if (root) problem = `root CA CRL is not Intel's: ${root}`;
  else {
    const ca = utils.extractCerts(Buffer.from(c.pck_crl_issuer_chain))[0];
    if (!ca) problem = 'PCK CRL issuer chain holds no certificate';
    else if (!certificateSignedBy(ca, rootDer))
      problem = 'PCK CRL issuer is not signed by the Intel SGX Root CA';
    else {
      const pck = checkCrlIssuer(facts.pckCrl, ca);
      if (pck) problem = `PCK CRL is not its CA's: ${pck}`;
    }
  }
  crlVerdicts.set(c, { of: memoFields(c), problem });
  return problem;
}

/** Verify `raw` (already parsed as `quote`) against `collateral` at `at` (Unix seconds). */
export function verifyDcap(
  raw: Uint8Array,
  quote: ParsedQuote,
  collateral: Collateral,
  at: number,
): DcapOutcome {
  let facts: CollateralFacts;
  try {
    facts = collateralFacts(collateral);
  } catch (e) {
    const why = `collateral unusable: ${errorMessage(e)}`;
    return {
      evaluatedAt: at,
      signature: { ok: false, detail: why },
      quoteAuthentic: false,
      tcb: { error: 'not evaluated: no usable collateral' },
      collateralError: why,
    };
  }
  const { start, end } = validityWindow(facts);
  const evaluatedAt = (start <= at && at <= end) || start > end ? at : at > end ? end : start;

  const chain = collateral.pck_certificate_chain
    ? utils.extractCerts(Buffer.from(collateral.pck_certificate_chain))
    : (parsedChain(quote) ?? pckChain(raw));
  const leaf = chain[0];
  let own = crlProblem(collateral, facts);
  if (!own && leaf && !certificateNames(leaf).issuer.equals(facts.pckCrl.issuer)) {
    own = `the PCK CRL is not from ${issuerCommonName(leaf)}, which issued the PCK certificate, so revocation cannot be checked`;
  }

  const quoteBytes = raw.subarray(0, quote.length);
  let stage: 'signature' | 'tcb' | 'attributes' | undefined;
  let message = '';
  let result: ReturnType<typeof dcapVerify> | undefined;
  try {
    result = dcapVerify(quoteBytes, collateral, evaluatedAt);
  } catch (e) {
    message = errorMessage(e);
    const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
    message += cause;
    if (TCB_MESSAGES.some((r) => r.test(message))) stage = 'tcb';
    else if (
      ATTRIBUTE_MESSAGES.some((r) => r.test(message)) ||
      (message === 'Debug mode is enabled' && quote.debug)
    )
      stage = 'attributes';
    else stage = 'signature';
  }

  const when =
    evaluatedAt === at
      ? ''
      : ` (checked at ${new Date(evaluatedAt * 1000).toISOString().replace('.000Z', 'Z')}, when the collateral was ${at > evaluatedAt ? 'last' : 'first'} valid)`;
  const dcapSigOk = stage !== 'signature';
  const via = leaf
    ? `PCK certificate → ${issuerCommonName(leaf)} → Intel SGX Root CA`
    : 'PCK chain → Intel SGX Root CA';
  const signature = !dcapSigOk
    ? { ok: false, detail: `${message}${when}` }
    : own
      ? { ok: false, detail: own }
      : {
          ok: true,
          detail: `${via}, none revoked; QE report signed by the PCK key and matching Intel's ${facts.qeIdentity.id} identity; quote signed by the key the QE attests; TCB info, QE identity and CRLs signed by Intel${when}`,
        };
  const tcb: DcapOutcome['tcb'] = result
    ? { status: result.status, advisoryIds: [...result.advisory_ids] }
    : stage === 'tcb'
      ? {
          error: /^TCB status is invalid: /.test(message)
            ? `${message.replace(/^TCB status is invalid: /, '')}: never acceptable`
            : `not established: ${message}`,
        }
      : {
          error:
            stage === 'attributes'
              ? `not established: dcap-qvl stopped at the report attributes (${message})`
              : 'not evaluated: the signature chain did not verify',
        };
  return {
    evaluatedAt,
    signature,
    quoteAuthentic: dcapSigOk,
    tcb,
    ...(stage === 'attributes' ? { attributes: message } : {}),
    collateral: facts,
  };
}
