/**
 * A minimal DER reader: just enough to take CRLs and certificate names apart (TLV spans,
 * UTCTime/GeneralizedTime). Our own because @phala/dcap-qvl decodes a CRL only for its
 * revoked serials (its `thisUpdate`/`nextUpdate` come back as undecoded tails) and never
 * checks a CRL's signature or dates; see crl.ts.
 */
import { ObscuraError } from '../../common/errors.ts';

/** One DER element: its tag and where its header and content lie in the buffer. */
export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

/** DER tags this reader cares about. */
export const TAG = {
  integer: 0x02,
  bitString: 0x03,
  sequence: 0x30,
  utcTime: 0x17,
  generalizedTime: 0x18,
  context0: 0xa0,
} as const;

function derError(what: string): ObscuraError {
  return new ObscuraError('der_invalid', `malformed DER: ${what}`, 422);
}

/** Read the element starting at `offset` (must lie within `limit`). */
export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  if (offset + 2 > limit) throw derError('truncated header');
  const tag = buf[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw derError('multi-byte tags are not supported');
  let len = buf[offset + 1] as number;
  let contentStart = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw derError('unsupported length encoding');
    if (contentStart + n > limit) throw derError('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[contentStart + i] as number);
    contentStart += n;
  }
  const end = contentStart + len;
  if (end > limit) throw derError('element runs past its container');
  return { tag, start: offset, contentStart, end };
}

/** The elements directly inside a constructed element. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let at = parent.contentStart;
  while (at < parent.end) {
    const t = readTlv(buf, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

/** The bytes of an element, header included. */
export function whole(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.start, t.end);
}

/** The content bytes of an element. */
export function content(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.contentStart, t.end);
}

/** Decode a UTCTime or GeneralizedTime element to Unix seconds. */
export function readTime(buf: Uint8Array, t: Tlv): number {
  const s = Buffer.from(content(buf, t)).toString('latin1');
  const utc = t.tag === TAG.utcTime ? s.match(/^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/) : null;
  const general =
    t.tag === TAG.generalizedTime ? s.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/) : null;
  const m = utc ?? general;
  if (!m) throw derError(`not a DER time: ${JSON.stringify(s)}`);
  const yy = Number(m[1]);
  // RFC 5280 §4.1.2.5.1: two-digit years below 50 are 20xx.
  const year = utc ? (yy < 50 ? 2000 + yy : 1900 + yy) : yy;
  const [, , mo, d, h, mi, se] = m.map(Number) as number[];
  return Date.UTC(year, (mo as number) - 1, d, h, mi, se) / 1000;
}
