/**
 * What the host tells the enclave process through its environment, validated: the host is
 * untrusted, so every value is checked, operators are taken only as SS58 addresses that are
 * no development account, and job limits are clamped to the enclave's own ranges.
 */
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { z } from 'zod';
import { TeeChoiceSchema } from '../attestation/providers/index.ts';
import { ObscuraError } from '../common/errors.ts';
import { assertNotDevelopmentAccount } from '../crypto/dev-keys.ts';
import { SS58_PREFIX } from '../crypto/keys.ts';
import { effectiveLimits, type JobLimits } from '../pipelines/limits.ts';

const count = z.coerce.number().int().positive().optional();

/** The enclave's environment variables. */
export const EnvSchema = z.object({
  OBSCURA_DATA_DIR: z.string().min(1),
  OBSCURA_WORKER_ID: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  OBSCURA_TEE: TeeChoiceSchema.default('simulated'),
  OBSCURA_TEE_ROOT: z.string().min(1).optional(),
  OBSCURA_DSTACK_ENDPOINT: z.string().min(1).optional(),
  /** The dstack SDK's own variable for a simulator endpoint; OBSCURA_DSTACK_ENDPOINT wins. */
  DSTACK_SIMULATOR_ENDPOINT: z.string().min(1).optional(),
  /**
   * The accounts (SS58) that may authorise upgrades, comma-separated, as the host names them.
   * Taken only when the identity is made; after that the sealed list holds (a later host
   * cannot add operators).
   */
  OBSCURA_OPERATORS: z.string().optional(),
  /** Chain the enclave checks hand-over authorisations against (its RPC answers are trusted; see handover.ts). */
  OBSCURA_CHAIN_ENDPOINT: z
    .string()
    .regex(/^wss?:\/\//)
    .optional(),
  /** Per-job limits the host asks for (clamped to the enclave's ranges; defaults where absent). */
  OBSCURA_JOB_TIMEOUT_MS: count,
  OBSCURA_JOB_MAX_ROWS: count,
  OBSCURA_JOB_MEMORY_BYTES: count,
  /** Bytes of decrypted datasets kept warm between jobs (warm-cache.ts; 0: none). */
  OBSCURA_WARM_CACHE_BYTES: z.coerce.number().int().nonnegative().optional(),
});
export type EnclaveEnv = z.infer<typeof EnvSchema>;

/** The operators the host names, validated: SS58 addresses (as prefix 42), none of them a development account. */
export async function namedOperators(list: string | undefined): Promise<string[]> {
  const out: string[] = [];
  for (const raw of (list ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean)) {
    let address: string;
    try {
      address = encodeAddress(decodeAddress(raw), SS58_PREFIX);
    } catch {
      throw new ObscuraError('operator_invalid', `operator ${raw} is not an SS58 address`, 400);
    }
    await assertNotDevelopmentAccount(address, 'the host');
    if (!out.includes(address)) out.push(address);
  }
  return out;
}

/** The per-job limits the host asks for, clamped to the ranges the enclave accepts. */
export function jobLimits(env: EnclaveEnv): JobLimits {
  return effectiveLimits({
    ...(env.OBSCURA_JOB_TIMEOUT_MS ? { timeoutMs: env.OBSCURA_JOB_TIMEOUT_MS } : {}),
    ...(env.OBSCURA_JOB_MAX_ROWS ? { maxRows: env.OBSCURA_JOB_MAX_ROWS } : {}),
    ...(env.OBSCURA_JOB_MEMORY_BYTES ? { memoryBytes: env.OBSCURA_JOB_MEMORY_BYTES } : {}),
  });
}
