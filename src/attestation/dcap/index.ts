/**
 * Intel DCAP quote verification: parsing, collateral (files, PCCS, disk cache) and
 * verification through @phala/dcap-qvl. Importing this loads dcap-qvl (~85 ms); verify.ts
 * loads it only when a hardware quote arrives.
 */
export { CollateralCache, cacheFileName, type CacheEntry } from './cache.ts';
export {
  CollateralSchema,
  collateralFacts,
  loadCollateralFile,
  parseCollateral,
  validityWindow,
  type Collateral,
  type CollateralFacts,
  type Dated,
} from './collateral.ts';
export {
  fetchCollateral,
  INTEL_PCS_URL,
  normalizePccsUrl,
  PHALA_PCCS_URL,
  type CollateralKey,
  type PccsFetchOptions,
} from './pccs.ts';
export {
  describeQuote,
  parseQuote,
  pckChain,
  quoteBytesFromFile,
  type ParsedQuote,
  type PckCa,
  type SgxQuote,
  type SgxReportFields,
  type TdReportFields,
  type TdxQuote,
} from './quote.ts';
export {
  collateralKey,
  fixedCollateral,
  PccsCollateralSource,
  type CollateralSource,
  type PccsSourceOptions,
  type SourcedCollateral,
} from './source.ts';
export { verifyDcap, type DcapOutcome, type TcbStatus } from './verify.ts';
