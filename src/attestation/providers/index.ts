/**
 * Evidence providers: how an enclave worker gets attestation evidence from its TEE
 * (simulated, Intel TDX through configfs-tsm or dstack, Intel SGX under Gramine).
 */
export {
  providerConfig,
  ProviderConfigSchema,
  teeEnv,
  TeeChoiceSchema,
  TeeSettingsSchema,
  type ProviderConfig,
  type TeeChoice,
  type TeeSettings,
} from './config.ts';
export { type DeviceFs, nodeDeviceFs } from './device-io.ts';
export {
  DSTACK_SOCKETS,
  DstackApiSchema,
  dstackProvider,
  dstackSealingRoot,
  TAPPD_SOCKETS,
  type DstackApi,
  type DstackOptions,
} from './dstack.ts';
export { createProvider } from './factory.ts';
export {
  enclaveMeasurement,
  HardwareIdentitySchema,
  MeasurementSourceSchema,
  type HardwareIdentity,
  type MeasurementSource,
} from './identity.ts';
export {
  ProviderKindSchema,
  TeeKindSchema,
  type EvidenceProvider,
  type EvidenceRequest,
  type ProviderKind,
  type TeeKind,
} from './provider.ts';
export { checkQuote, readQuoteFields, type QuoteFields } from './quote-fields.ts';
export {
  describeSealingRoot,
  DSTACK_SEALING_KEY_PATH,
  type SealingRoot,
  type SealingRootSource,
  SealingRootSourceSchema,
} from './sealing-root.ts';
export {
  DEFAULT_GRAMINE_ATTESTATION_ROOT,
  SGX_SEALING_KEY_BYTES,
  sgxGramineProvider,
  type SgxGramineOptions,
} from './sgx-gramine.ts';
export { simulatedProvider } from './simulated.ts';
export {
  DEFAULT_TSM_REPORT_ROOT,
  TDX_TSM_PROVIDER,
  tdxConfigfsProvider,
  type TdxConfigfsOptions,
} from './tdx-configfs.ts';
