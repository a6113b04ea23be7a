export { createApp } from './app.ts';
export { startHost, type HostOptions, type RunningHost } from './host.ts';
export { ROUTES } from './openapi.ts';
export { openApiDocument } from './openapi-document.ts';
export {
  requestSigningBytes,
  HEADER_ACCOUNT,
  HEADER_BODY,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  UNSIGNED_PAYLOAD,
} from '../../contracts/request-signing.ts';
export { ProblemSchema, type Problem } from '../../contracts/problem.ts';
export { WorkerRecordSchema, type WorkerRecord } from '../../contracts/worker-record.ts';
