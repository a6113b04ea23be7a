/**
 * Intel DCAP quotes (SGX v3, TDX v4/v5) taken apart for reporting: header, the TD or enclave
 * report (MRTD, RTMR0-3, MRSEAM, MRENCLAVE, MRSIGNER, ISV ids, report data), and the PCK
 * certificate's FMSPC and CA that collateral is looked up by. Parsing is @phala/dcap-qvl's
 * `Quote.parse`; Obscura adds only what it lacks: the quote's own length (dstack pads quotes
 * with zeros), the debug bits, and the PCK CA kind, which dcap-qvl's `intel.getCa` gets
 * wrong (it compares the issuer's hex DER with a text name, so it always says "processor").
 */
import { type AuthDataV4, Quote, utils } from '@phala/dcap-qvl';
import { ObscuraError } from '../../common/errors.ts';
import { certificateNames } from './crl.ts';

/** Which CA issued the platform's PCK certificate (selects the PCK CRL). */
export type PckCa = 'processor' | 'platform';

/** Fields of a TD report (TDX). All hex. */
export interface TdReportFields {
  teeTcbSvn: string;
  mrSeam: string;
  mrSignerSeam: string;
  seamAttributes: string;
  tdAttributes: string;
  xfam: string;
  mrTd: string;
  mrConfigId: string;
  mrOwner: string;
  mrOwnerConfig: string;
  rtMr0: string;
  rtMr1: string;
  rtMr2: string;
  rtMr3: string;
  /** TD 1.5 only. */
  mrServiceTd?: string;
}

/** Fields of an SGX enclave report. Hex unless numeric. */
export interface SgxReportFields {
  cpuSvn: string;
  miscSelect: number;
  attributes: string;
  mrEnclave: string;
  mrSigner: string;
  isvProdId: number;
  isvSvn: number;
}

interface QuoteCommon {
  version: number;
  attestationKeyType: number;
  qeSvn: number;
  pceSvn: number;
  qeVendorId: string;
  /** The 64 bytes the enclave chose, hex. */
  reportData: string;
  /** Bytes covered by the attestation key's signature (header and report). */
  signedLength: number;
  /** Length of the quote proper; bytes after it (padding) are ignored. */
  length: number;
  /** Debug enclave/TD: memory readable by the host, never confidential. */
  debug: boolean;
  /** Certification data type (5 = PCK chain embedded). */
  certificationDataType: number;
  /** FMSPC (hex, lower case) and CA of the embedded PCK certificate, when there is one. */
  pck?: { fmspc: string; ca: PckCa };
}

/** A parsed TDX quote. */
export interface TdxQuote extends QuoteCommon {
  tee: 'tdx';
  body: 'td10' | 'td15';
  td: TdReportFields;
}

/** A parsed SGX quote. */
export interface SgxQuote extends QuoteCommon {
  tee: 'sgx';
  body: 'sgx';
  sgx: SgxReportFields;
}

/** A parsed quote of either kind. */
export type ParsedQuote = TdxQuote | SgxQuote;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function embeddedChain(q: Quote): Buffer[] {
  try {
    return utils.extractCerts(Buffer.from(q.rawCertChain()));
  } catch {
    return []; // no embedded chain (encrypted PPID)
  }
}

/** The PCK certificate chain embedded in a raw quote (DER, leaf first; empty when none). */
export function pckChain(raw: Uint8Array): Buffer[] {
  try {
    return embeddedChain(Quote.parse(raw));
  } catch {
    return [];
  }
}

const chains = new WeakMap<ParsedQuote, Buffer[]>();

/** The PCK chain parseQuote found in the quote (DER, leaf first; empty when none). */
export function parsedChain(q: ParsedQuote): Buffer[] | undefined {
  return chains.get(q);
}

/** The common name of a certificate's issuer, from its DER Name (Intel's names are ASCII). */
export function issuerCommonName(certDer: Uint8Array): string {
  return (
    certificateNames(certDer)
      .issuer.toString('latin1')
      .match(/Intel SGX [A-Za-z ]+CA/)?.[0] ?? 'an unknown CA'
  );
}

function pckInfo(leaf: Buffer | undefined): ParsedQuote['pck'] {
  if (!leaf) return undefined;
  try {
    const fmspc = hex(utils.getFmspc(utils.getIntelExtension(leaf)));
    const ca: PckCa = issuerCommonName(leaf).includes('PCK Platform CA') ? 'platform' : 'processor';
    return { fmspc, ca };
  } catch {
    return undefined; // a damaged certificate: verification will say so
  }
}

/** Parse a raw quote; throws 'quote_invalid' (422) for anything that is not one. */
export function parseQuote(raw: Uint8Array): ParsedQuote {
  let q: Quote;
  try {
    q = Quote.parse(raw);
  } catch (e) {
    throw new ObscuraError(
      'quote_invalid',
      `not a DCAP quote: ${e instanceof Error ? e.message : String(e)}`,
      422,
    );
  }
  const signedLength = q.signedLength();
  // A DataView, not Buffer's readUInt32LE: the dashboard page parses quotes too.
  const authLen = new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getUint32(signedLength, true);
  const auth = q.authData.version === 3 ? q.authData.data : (q.authData.data as AuthDataV4).qeReportData;
  const h = q.header;
  const common = {
    version: h.version,
    attestationKeyType: h.attestationKeyType,
    qeSvn: h.qeSvn,
    pceSvn: h.pceSvn,
    qeVendorId: hex(h.qeVendorId),
    signedLength,
    length: signedLength + 4 + authLen,
    certificationDataType: auth.certificationData.certType,
  };
  const chain = embeddedChain(q);
  const pck = pckInfo(chain[0]);
  const parsed = parsedFields(q, common, pck);
  chains.set(parsed, chain);
  return parsed;
}

function parsedFields(
  q: Quote,
  common: Omit<QuoteCommon, 'reportData' | 'debug' | 'pck'>,
  pck: ParsedQuote['pck'],
): ParsedQuote {
  const sgx = q.report.asSgx();
  if (sgx) {
    return {
      ...common,
      ...(pck ? { pck } : {}),
      tee: 'sgx',
      body: 'sgx',
      reportData: hex(sgx.reportData),
      debug: ((sgx.attributes[0] as number) & 0x02) !== 0,
      sgx: {
        cpuSvn: hex(sgx.cpuSvn),
        miscSelect: sgx.miscSelect,
        attributes: hex(sgx.attributes),
        mrEnclave: hex(sgx.mrEnclave),
        mrSigner: hex(sgx.mrSigner),
        isvProdId: sgx.isvProdId,
        isvSvn: sgx.isvSvn,
      },
    };
  }
  const td = q.report.asTd10();
  if (!td) throw new ObscuraError('quote_invalid', 'not a DCAP quote: unknown report body', 422);
  const td15 = q.report.asTd15();
  return {
    ...common,
    ...(pck ? { pck } : {}),
    tee: 'tdx',
    body: td15 ? 'td15' : 'td10',
    reportData: hex(td.reportData),
    debug: (td.tdAttributes[0] as number) !== 0, // TUD bits: debug TD
    td: {
      teeTcbSvn: hex(td.teeTcbSvn),
      mrSeam: hex(td.mrSeam),
      mrSignerSeam: hex(td.mrSignerSeam),
      seamAttributes: hex(td.seamAttributes),
      tdAttributes: hex(td.tdAttributes),
      xfam: hex(td.xfam),
      mrTd: hex(td.mrTd),
      mrConfigId: hex(td.mrConfigId),
      mrOwner: hex(td.mrOwner),
      mrOwnerConfig: hex(td.mrOwnerConfig),
      rtMr0: hex(td.rtMr0),
      rtMr1: hex(td.rtMr1),
      rtMr2: hex(td.rtMr2),
      rtMr3: hex(td.rtMr3),
      ...(td15 ? { mrServiceTd: hex(td15.mrServiceTd) } : {}),
    },
  };
}

/** A one-line description of a quote's kind, e.g. "Intel TDX, quote v4, TD 1.0 report". */
export function describeQuote(q: ParsedQuote): string {
  const body = q.body === 'sgx' ? 'enclave report' : q.body === 'td10' ? 'TD 1.0 report' : 'TD 1.5 report';
  return `Intel ${q.tee.toUpperCase()}, quote v${q.version}, ${body}${q.debug ? ', DEBUG' : ''}`;
}

/**
 * The bytes of a quote file: binary as is, or hex text (as dstack's guest agent returns it;
 * whitespace and a 0x prefix allowed).
 */
export function quoteBytesFromFile(data: Buffer): Buffer {
  const text = data.toString('latin1').trim();
  if (text.length > 0 && /^(0x)?[0-9a-fA-F\s]+$/.test(text)) {
    const digits = text.replace(/^0x/, '').replace(/\s+/g, '');
    if (digits.length % 2 !== 0)
      throw new ObscuraError('quote_invalid', 'hex quote has an odd number of digits', 422);
    return Buffer.from(digits, 'hex');
  }
  return data;
}
