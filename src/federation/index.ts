/**
 * Federation: several enclave workers, each holding the datasets sealed to it. Only
 * attested enclaves exchange anything (channel.ts), and only aggregates: encoding
 * statistics, model weights, validation statistics (merge.ts). The host relays
 * (src/host/federation-coordinator.ts).
 */
export {
  PeerSchema,
  SealedMessageSchema,
  type Peer,
  type SealedMessage,
  sealFor,
  openFrom,
  verifyPeer,
} from './channel.ts';
export {
  federatedAverage,
  mergeEncoding,
  mergeMetrics,
  evalStats,
  SCORE_BINS,
  type WeightSet,
  type EncodingStats,
  type EvalStats,
} from './merge.ts';
