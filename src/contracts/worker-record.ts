/**
 * A worker as the API lists it: what the host says of each enclave worker it runs. Clients
 * (`obscura attest`, `obscura workers`) read it and check it through attestation.
 */
import { z } from 'zod';
import { HardwareIdentitySchema, MeasurementSourceSchema } from '../attestation/providers/identity.ts';
import { ProviderKindSchema } from '../attestation/providers/provider.ts';
import { SealingRootSourceSchema } from '../attestation/providers/sealing-root.ts';
import { JobLimitsSchema } from '../pipelines/limits.ts';

/** A worker as the API lists it. */
export const WorkerRecordSchema = z.object({
  id: z.string(),
  tee: z.string(),
  /** How the worker gets its evidence: simulated, tdx-configfs, dstack or sgx-gramine. */
  provider: ProviderKindSchema,
  simulated: z.boolean(),
  measurement: z.string(),
  /** `hardware` when the measurement is the SGX MRENCLAVE, `code` when it is the code measurement. */
  measurementSource: MeasurementSourceSchema,
  /** Registers from the worker's own quote at start (TDX MRTD and RTMRs, SGX MRENCLAVE and MRSIGNER). */
  hardware: HardwareIdentitySchema.optional(),
  /**
   * Where the key of the worker's sealed state comes from: `simulated-file` (a file in the
   * data directory: anyone who can read it can unseal the worker's keys), `sgx-mrenclave` or
   * `dstack-kms`. What the worker says of itself, like the rest of this record; its code
   * (the measurement the attestation proves) decides it.
   */
  sealingRoot: SealingRootSourceSchema,
  recipient: z.string(),
  signingKey: z.string(),
  status: z.enum(['running', 'stopped']),
  /** The per-job limits the worker's enclave enforces (wall time in ms, rows, memory in bytes). */
  limits: JobLimitsSchema.optional(),
});
export type WorkerRecord = z.infer<typeof WorkerRecordSchema>;
