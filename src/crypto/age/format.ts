/**
 * The age v1 header: strict parsing and canonical serialisation.
 *
 * Follows the age v1 format (https://age-encryption.org/v1, C2SP age spec, "Header"):
 *
 *     age-encryption.org/v1
 *     -> X25519 <base64 share>
 *     <base64 body, wrapped at 64 columns; the last line is shorter, possibly empty>
 *     --- <base64 HMAC-SHA256>
 *
 * Base64 is the standard alphabet without padding and must be canonical (unused bits zero).
 * Every line ends in LF; CR, tabs and other bytes outside printable ASCII are refused, as
 * are empty arguments, over-long body lines and a body whose last line is full. The header
 * MAC covers the header bytes up to and including "---" (spec, "Header MAC").
 */
import { ageError } from './errors.ts';

/** The first line of every age v1 file. */
export const VERSION_LINE = 'age-encryption.org/v1';
/** Bytes every age file (of any version) begins with. */
const INTRO = Buffer.from('age-encryption.org/', 'latin1');
const ARMOR_BEGIN = Buffer.from('-----BEGIN AGE ENCRYPTED FILE-----', 'latin1');
/** The MAC line starts a line with these bytes; stanza lines never do. */
const MAC_MARKER = Buffer.from('\n---', 'latin1');
/** Refuse headers larger than this (a header is a few hundred bytes per recipient). */
export const MAX_HEADER_BYTES = 1024 * 1024;
/** Stanza bodies are wrapped at 64 base64 columns, i.e. 48 bytes a line. */
const BODY_COLUMNS = 64;
const BODY_LINE_BYTES = 48;
const MAC_BYTES = 32;
/** A MAC line is "--- " and 43 base64 characters; anything much longer is not one. */
const MAC_LINE_MAX = 64;

const BASE64_RE = /^[A-Za-z0-9+/]*$/;
/** An argument is one or more VCHARs (0x21–0x7E): printable ASCII without space. */
const ARG_RE = /^[\x21-\x7e]+$/;

/** One recipient stanza: its type (first argument), the other arguments and its body. */
export interface Stanza {
  type: string;
  args: string[];
  body: Uint8Array;
}

/** A parsed header: stanzas, the bytes the MAC covers, the MAC and the header's length. */
export interface ParsedHeader {
  stanzas: Stanza[];
  /** Header bytes up to and including "---": the HMAC input. */
  macInput: Buffer;
  mac: Buffer;
  /** Length of the whole header, MAC line and its LF included; the payload nonce follows. */
  headerBytes: number;
}

/** Base64 (standard alphabet, no padding) of `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64').replace(/=+$/, '');
}

/** Strictly decode unpadded canonical base64; throws age_header_invalid on anything else. */
export function decodeBase64(text: string): Buffer {
  if (!BASE64_RE.test(text) || text.length % 4 === 1) {
    throw ageError('age_header_invalid', 'invalid base64');
  }
  const bytes = Buffer.from(text, 'base64');
  // Node decodes leniently; re-encoding catches non-canonical trailing bits.
  if (encodeBase64(bytes) !== text) throw ageError('age_header_invalid', 'non-canonical base64');
  return bytes;
}

/** True for the bytes a header may contain: printable ASCII and LF. */
function isHeaderByte(byte: number): boolean {
  return byte === 0x0a || (byte >= 0x20 && byte <= 0x7e);
}

/**
 * Length of the header at the start of `buf` (MAC line and its LF included), or -1 when
 * more bytes are needed. With `eof` set there are no more bytes. `from` is how many bytes an
 * earlier call on the same (growing) buffer already scanned, so that streaming stays linear.
 * Throws age_header_invalid when `buf` cannot be an age file (binary bytes before any MAC
 * line, an over-long MAC line, a header over MAX_HEADER_BYTES), age_truncated when the
 * input ends inside the header.
 */
export function scanHeader(buf: Uint8Array, eof: boolean, from = 0): number {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const introLen = Math.min(b.length, INTRO.length);
  if (b.compare(INTRO, 0, introLen, 0, introLen) !== 0) {
    if (b.length >= ARMOR_BEGIN.length && b.subarray(0, ARMOR_BEGIN.length).equals(ARMOR_BEGIN)) {
      throw ageError('age_header_invalid', 'ASCII-armored files are not supported');
    }
    throw ageError('age_header_invalid', 'missing age header');
  }
  const marker = b.indexOf(MAC_MARKER, Math.max(0, from - MAC_LINE_MAX - MAC_MARKER.length));
  if (marker >= 0) {
    const lineStart = marker + 1;
    const end = b.indexOf(0x0a, lineStart);
    if ((end < 0 ? b.length : end) - lineStart > MAC_LINE_MAX)
      throw ageError('age_header_invalid', 'malformed MAC line');
    if (end >= 0 && end < MAX_HEADER_BYTES) return end + 1;
  } else {
    for (let i = from; i < b.length; i++) {
      if (!isHeaderByte(b[i] as number)) throw ageError('age_header_invalid', 'malformed header');
    }
  }
  if (b.length >= MAX_HEADER_BYTES) throw ageError('age_header_invalid', 'header too large');
  if (!eof) return -1;
  if (b.length === 0) throw ageError('age_header_invalid', 'empty input');
  throw ageError('age_truncated', 'input ends inside the header');
}

/**
 * Parse the header at the start of `bytes` (bytes after it, the payload, are ignored).
 * Throws age_header_invalid on any deviation from the canonical encoding, age_truncated
 * when `bytes` ends inside the header.
 */
export function parseHeader(bytes: Uint8Array): ParsedHeader {
  const headerBytes = scanHeader(bytes, true);
  const header = Buffer.from(bytes.buffer, bytes.byteOffset, headerBytes);
  for (const byte of header) {
    if (!isHeaderByte(byte))
      throw ageError('age_header_invalid', 'header has a byte outside printable ASCII');
  }
  const lines = header.toString('latin1').split('\n');
  lines.pop(); // the empty string after the final LF
  if (lines[0] !== VERSION_LINE) throw ageError('age_header_invalid', 'unsupported version line');

  const stanzas: Stanza[] = [];
  let i = 1;
  for (;;) {
    const line = lines[i] as string; // scanHeader guarantees a "---" line ends the list
    if (line.startsWith('---')) break;
    if (!line.startsWith('-> ')) throw ageError('age_header_invalid', 'malformed stanza line');
    const args = line.slice(3).split(' ');
    if (!args.every((a) => ARG_RE.test(a))) {
      throw ageError('age_header_invalid', 'malformed stanza argument');
    }
    const body: Buffer[] = [];
    for (i++; ; i++) {
      const bodyLine = lines[i];
      if (bodyLine === undefined || bodyLine.startsWith('---') || bodyLine.startsWith('-> ')) {
        throw ageError('age_header_invalid', 'stanza body does not end with a short line');
      }
      if (bodyLine.length > BODY_COLUMNS) throw ageError('age_header_invalid', 'stanza line too long');
      body.push(decodeBase64(bodyLine));
      if (bodyLine.length < BODY_COLUMNS) break;
    }
    i++;
    const [type, ...rest] = args as [string, ...string[]];
    stanzas.push({ type, args: rest, body: Buffer.concat(body) });
  }

  const macLine = lines[i] as string;
  if (i !== lines.length - 1 || !macLine.startsWith('--- ')) {
    throw ageError('age_header_invalid', 'malformed MAC line');
  }
  const mac = decodeBase64(macLine.slice(4));
  if (mac.length !== MAC_BYTES) throw ageError('age_header_invalid', 'malformed MAC line');
  const macInput = header.subarray(0, headerBytes - macLine.length - 1 + 3);
  return { stanzas, macInput, mac, headerBytes };
}

/** The header bytes the MAC covers: version line, stanzas, and "---". Throws on invalid args. */
export function encodeHeaderNoMac(stanzas: readonly Stanza[]): Buffer {
  let text = `${VERSION_LINE}\n`;
  for (const s of stanzas) {
    const args = [s.type, ...s.args];
    if (!args.every((a) => ARG_RE.test(a))) throw new TypeError('invalid stanza argument');
    text += `-> ${args.join(' ')}\n`;
    const b64 = encodeBase64(s.body);
    for (let off = 0; off < b64.length; off += BODY_COLUMNS) {
      text += `${b64.slice(off, off + BODY_COLUMNS)}\n`;
    }
    // A body whose length is a multiple of 48 bytes (0 included) ends with an empty line.
    if (s.body.length % BODY_LINE_BYTES === 0) text += '\n';
  }
  return Buffer.from(`${text}---`, 'latin1');
}

/** The complete header: `encodeHeaderNoMac` output, then " <base64 mac>\n". */
export function encodeHeader(stanzas: readonly Stanza[], mac: Uint8Array): Buffer {
  return Buffer.concat([encodeHeaderNoMac(stanzas), Buffer.from(` ${encodeBase64(mac)}\n`, 'latin1')]);
}
