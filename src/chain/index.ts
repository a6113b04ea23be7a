/**
 * Public surface of the chain library both sides use: the client that anchors Merkle-batched records in `system.remarkWithEvent` and verifies them, and the
 * record / payload / Merkle formats (documented in src/chain/README.md).
 * The embedded chain the host runs lives in src/host/chain/.
 */
export { ChainClient, MAX_ANCHOR_RECORDS, type ChainClientOptions } from './client.ts';
export {
  AnchorReceiptSchema,
  AnchorCheckSchema,
  AnchorCheckItemSchema,
  ChainIdentitySchema,
  ChainHashSchema,
  ANCHOR_CHECK_NAMES,
  EMBEDDED_CHAIN_NAME,
  type AnchorReceipt,
  type AnchorCheck,
  type AnchorCheckItem,
  type AnchorCheckName,
  type ChainIdentity,
} from './schemas.ts';
export {
  AnchorRecordSchema,
  Hash32HexSchema,
  ANCHOR_KINDS,
  RECORD_VERSION,
  RECORD_LENGTH,
  REMARK_MAGIC,
  REMARK_VERSION,
  REMARK_LENGTH,
  encodeRecord,
  decodeRecord,
  recordLeaf,
  encodeRemark,
  encodeRemarkHex,
  decodeRemark,
  type AnchorRecord,
  type AnchorKind,
  type RemarkPayload,
} from './records.ts';
export {
  merkleRoot,
  merkleProof,
  verifyMerkleProof,
  rootFromProof,
  merkleLeaf,
  merkleNode,
  isHash32Hex,
  type MerkleProof,
} from './merkle.ts';
export { sameChain } from './verify.ts';
export {
  LedgerHeadSchema,
  LedgerPlacementSchema,
  LEDGER_REMARK_VERSION,
  LEDGER_REMARK_LENGTH,
  encodeLedgerRemarkHex,
  decodeLedgerRemark,
  type LedgerHead,
  type LedgerPlacement,
} from './ledger.ts';
