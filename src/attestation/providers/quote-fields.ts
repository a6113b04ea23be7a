/**
 * The few fields of an Intel DCAP quote a worker reads from its own quotes: the TEE type,
 * the 64-byte report data (to check the device bound what was asked) and the measurement
 * registers (to report the enclave's hardware identity). Layouts from Intel's "SGX ECDSA
 * Quote Library API" (quote v3, SGX report body) and "TDX DCAP Quote Generation Library"
 * (quote v4 with a TD report 1.0 body; quote v5 with a typed TD 1.0 / TD 1.5 body).
 * This is not verification: signatures, certificates and TCB are checked by the verifier
 * (../dcap/), never here.
 */
import { ObscuraError } from '../../common/errors.ts';
import type { HardwareIdentity } from './identity.ts';

const HEADER = 48;
const TEE_SGX = 0x00000000;
const TEE_TDX = 0x00000081;
const SGX_BODY = 384;
const TD10_BODY = 584;
const TD15_BODY = 648;

/** What a worker reads from one of its quotes. */
export interface QuoteFields {
  tee: 'sgx' | 'tdx';
  version: number;
  /** The 64 bytes of report data, lower-case hex. */
  reportData: string;
  identity: HardwareIdentity;
}

function malformed(source: string, why: string): ObscuraError {
  return new ObscuraError(
    'tee_quote_malformed',
    `${source} returned something that is not a DCAP quote: ${why}`,
    502,
  );
}

/** Locate the report body: its offset, length and kind. */
function body(q: Buffer, source: string): { at: number; len: number; tee: 'sgx' | 'tdx'; version: number } {
  if (q.length < HEADER + 4) throw malformed(source, `${q.length} bytes`);
  const version = q.readUInt16LE(0);
  const teeType = q.readUInt32LE(4);
  if (version === 3 && teeType === TEE_SGX) return { at: HEADER, len: SGX_BODY, tee: 'sgx', version };
  if (version === 4 && teeType === TEE_TDX) return { at: HEADER, len: TD10_BODY, tee: 'tdx', version };
  if (version === 5) {
    const type = q.readUInt16LE(HEADER);
    const size = q.readUInt32LE(HEADER + 2);
    const expected = type === 1 ? SGX_BODY : type === 2 ? TD10_BODY : type === 3 ? TD15_BODY : -1;
    if (expected < 0 || size !== expected)
      throw malformed(source, `quote v5 with body type ${type} of ${size} bytes`);
    return { at: HEADER + 6, len: size, tee: type === 1 ? 'sgx' : 'tdx', version };
  }
  throw malformed(source, `quote version ${version} with TEE type 0x${teeType.toString(16)}`);
}

/** Read a quote's TEE type, report data and registers. Throws 'tee_quote_malformed' naming `source`. */
export function readQuoteFields(quote: Uint8Array, source: string): QuoteFields {
  const q = Buffer.from(quote.buffer, quote.byteOffset, quote.byteLength);
  const b = body(q, source);
  const sigLenAt = b.at + b.len;
  if (q.length < sigLenAt + 4) throw malformed(source, `truncated at ${q.length} bytes`);
  // Devices may pad a quote past its end (the signature data says where it ends), never cut it.
  if (q.length < sigLenAt + 4 + q.readUInt32LE(sigLenAt))
    throw malformed(source, `signature data truncated at ${q.length} bytes`);
  const field = (offset: number, len: number) =>
    q.subarray(b.at + offset, b.at + offset + len).toString('hex');
  if (b.tee === 'sgx') {
    return {
      tee: 'sgx',
      version: b.version,
      reportData: field(320, 64),
      identity: { tee: 'sgx', mrenclave: field(64, 32), mrsigner: field(128, 32) },
    };
  }
  return {
    tee: 'tdx',
    version: b.version,
    reportData: field(520, 64),
    identity: {
      tee: 'tdx',
      mrtd: field(136, 48),
      rtmr0: field(328, 48),
      rtmr1: field(376, 48),
      rtmr2: field(424, 48),
      rtmr3: field(472, 48),
    },
  };
}

/**
 * Read a quote a device returned and check it is of the expected TEE and, when `reportData`
 * is given, carries exactly that report data. Throws 'tee_quote_malformed' or
 * 'tee_report_data_mismatch'.
 */
export function checkQuote(
  quote: Uint8Array,
  expect: { tee: 'sgx' | 'tdx'; reportData?: string; source: string },
): QuoteFields {
  const fields = readQuoteFields(quote, expect.source);
  if (fields.tee !== expect.tee)
    throw malformed(
      expect.source,
      `a ${fields.tee.toUpperCase()} quote where a ${expect.tee.toUpperCase()} quote was expected`,
    );
  if (expect.reportData !== undefined && fields.reportData !== expect.reportData) {
    throw new ObscuraError(
      'tee_report_data_mismatch',
      `${expect.source} returned a quote whose report data is not the 64 bytes written (stale, raced, or hashed by the device?)`,
      502,
    );
  }
  return fields;
}

/** The 64 bytes of report data of a quote a worker makes of itself only to read its registers. */
export function selfQuoteReportData(): Buffer {
  return Buffer.concat([Buffer.from('obscura/self-quote/1'), Buffer.alloc(44)]);
}
