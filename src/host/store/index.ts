export { BlobStore, type StagedBlob } from './blobs.ts';
export { openDb, type Db } from './db.ts';
export { Metadata, type ResultListRow } from './metadata.ts';
export { ReplayStore } from './replay.ts';
export { PrivacyStore, type StoredLedgerEntry } from './privacy.ts';
export {
  DatasetRecordSchema,
  JobRecordSchema,
  JobStatusSchema,
  PipelineRecordSchema,
  ResultDocumentSchema,
  type DatasetRecord,
  type JobRecord,
  type JobStatus,
  type PipelineRecord,
  type ResultDocument,
  UpgradeAuthorizationSchema,
  type UpgradeAuthorization,
} from '../../contracts/api-records.ts';
