/**
 * The remark that carries a node record (src/contracts/node-record.ts) on chain:
 *
 * | offset | size | field                                       |
 * | ------ | ---- | ------------------------------------------- |
 * | 0      | 3    | magic "OBN" = 0x4f 0x42 0x4e                |
 * | 3      | 1    | format version = 0x01                       |
 * | 4      | n    | UTF-8 JSON of the signed node record        |
 *
 * The record is JSON, not a hash under a Merkle root as anchors are: readers must find it
 * on chain alone. Decoding only splits the bytes; the record is checked by checkNodeRecord.
 */
import { ObscuraError } from '../common/errors.ts';

/** Magic prefix of a node-record remark ("OBN"). */
export const NODE_REMARK_MAGIC = Uint8Array.of(0x4f, 0x42, 0x4e);
/** Version byte of the node-record remark. */
export const NODE_REMARK_VERSION = 1;
/** Largest node-record remark written or read (a record lists at most 16 workers). */
export const NODE_REMARK_MAX_BYTES = 16_384;

/** The remark (0x hex) carrying `signedRecord`. Throws 'node_record_too_large' past NODE_REMARK_MAX_BYTES. */
export function encodeNodeRemarkHex(signedRecord: unknown): `0x${string}` {
  const json = Buffer.from(JSON.stringify(signedRecord), 'utf8');
  const out = Buffer.concat([NODE_REMARK_MAGIC, Uint8Array.of(NODE_REMARK_VERSION), json]);
  if (out.length > NODE_REMARK_MAX_BYTES)
    throw new ObscuraError('node_record_too_large', `a node record takes ${out.length} bytes`, 400);
  return `0x${out.toString('hex')}`;
}

/** The parsed JSON of a node-record remark, or undefined for any other remark (never throws). */
export function decodeNodeRemark(bytes: Uint8Array): unknown {
  if (bytes.length < 5 || bytes.length > NODE_REMARK_MAX_BYTES) return undefined;
  if (bytes[0] !== 0x4f || bytes[1] !== 0x42 || bytes[2] !== 0x4e || bytes[3] !== NODE_REMARK_VERSION)
    return undefined;
  try {
    return JSON.parse(Buffer.from(bytes.subarray(4)).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
