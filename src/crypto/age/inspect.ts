/**
 * Header-only operations on age v1 files (https://age-encryption.org/v1): list the stanzas
 * without a key, or check with a key that a file is addressed to it and untampered,
 * without touching the payload.
 */
import { parseIdentities } from './decrypt.ts';
import { parseHeader } from './format.ts';
import { openHeader } from './header.ts';

/** A stanza as shown to people: its type and arguments (bodies are opaque). */
export interface StanzaInfo {
  type: string;
  args: string[];
}

/**
 * The stanzas and header length of the age file starting at `bytes` (only the header is
 * needed). No key needed. Throws age_header_invalid or age_truncated.
 */
export function inspectHeader(bytes: Uint8Array): { stanzas: StanzaInfo[]; headerBytes: number } {
  const header = parseHeader(bytes);
  return {
    stanzas: header.stanzas.map((s) => ({ type: s.type, args: [...s.args] })),
    headerBytes: header.headerBytes,
  };
}

/**
 * Check that one of `identities` unwraps the file key of the header at the start of `bytes`
 * and that the header MAC is valid; the payload is not read. Throws invalid_identity,
 * age_header_invalid, age_truncated, age_no_matching_identity or age_header_mac.
 */
export function checkHeader(identities: string[], bytes: Uint8Array): void {
  const ids = parseIdentities(identities);
  openHeader(parseHeader(bytes), ids).fill(0);
}
