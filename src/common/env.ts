/**
 * The environment variables Obscura reads, parsed once. Flags given on the command line win
 * over these; these win over the built-in defaults.
 */
import { z } from 'zod';
import { TeeChoiceSchema, TeeSettingsSchema } from '../attestation/providers/config.ts';

const EnvSchema = z.object({
  /** API base URL the CLI talks to. */
  OBSCURA_API: z.url().optional(),
  /** A Substrate node's WebSocket endpoint to use instead of the embedded chain. */
  OBSCURA_CHAIN: z
    .string()
    .regex(/^wss?:\/\//, 'OBSCURA_CHAIN must be a ws:// or wss:// URL')
    .optional(),
  /** The chain `obscura verify` checks results against (the user's choice, not the host's). */
  OBSCURA_VERIFY_CHAIN: z
    .string()
    .regex(/^wss?:\/\//, 'OBSCURA_VERIFY_CHAIN must be a ws:// or wss:// URL')
    .optional(),
  /** The CLI configuration file (default ~/.config/obscura/config.json; see src/cli/config.ts). */
  OBSCURA_CONFIG: z.string().min(1).optional(),
  /** Secret URI of the account that signs anchoring extrinsics on a non-embedded chain. */
  OBSCURA_OPERATOR_SURI: z.string().min(1).optional(),
  /** Comma-separated account addresses that may authorise enclave upgrades, beside the chain operator. */
  OBSCURA_OPERATORS: z.string().min(1).optional(),
  /** The account key file the CLI signs with when a command is given no --key. */
  OBSCURA_KEY: z.string().min(1).optional(),
  /** Uploads one account may have in flight at once on this host (default 2). */
  OBSCURA_UPLOADS_IN_FLIGHT: z.coerce.number().int().min(1).max(1000).optional(),
  /** Bytes of one upload's sealed file (default 2 GiB; a 50M-row CSV seals to about 2.3 GB). */
  OBSCURA_MAX_UPLOAD_BYTES: z.coerce.number().int().min(1).optional(),
  /** Sealed bytes one account may keep stored on this host (default 20 GiB). */
  OBSCURA_STORAGE_QUOTA_BYTES: z.coerce.number().int().min(1).optional(),
  /** Free bytes the node keeps on its data directory's disk: uploads that would go below are refused (storage_full). */
  OBSCURA_MIN_FREE_BYTES: z.coerce.number().int().min(0).optional(),
  /** The host's data directory. */
  OBSCURA_DATA_DIR: z.string().min(1).optional(),
  /** The TEE the workers of `obscura serve` use: simulated (default), tdx, dstack or sgx-gramine. */
  OBSCURA_TEE: TeeChoiceSchema.optional(),
  /** The TEE device root: configfs-tsm report directory (tdx) or Gramine's /dev/attestation (sgx-gramine). */
  OBSCURA_TEE_ROOT: z.string().min(1).optional(),
  /** The dstack guest agent: a unix socket path or an http(s) URL (dstack). */
  OBSCURA_DSTACK_ENDPOINT: TeeSettingsSchema.shape.endpoint,
  /** Per-job wall-time limit of `obscura serve`'s workers, in seconds. */
  OBSCURA_JOB_TIMEOUT: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'OBSCURA_JOB_TIMEOUT must be a number of seconds')
    .optional(),
  /** Per-job limit on the rows of any materialised step. */
  OBSCURA_JOB_MAX_ROWS: z.string().regex(/^\d+$/, 'OBSCURA_JOB_MAX_ROWS must be a whole number').optional(),
  /** Per-job memory limit (DuckDB, and the enclave's heap), e.g. 2GB or 512MiB. */
  OBSCURA_JOB_MEMORY: z.string().min(1).optional(),
});
export type Env = z.infer<typeof EnvSchema>;

let cached: Env | undefined;

/** The parsed environment; throws a readable error naming the bad variable. */
export function env(): Env {
  if (cached) return cached;
  const parsed = EnvSchema.safeParse(process.env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`environment variable ${String(issue?.path[0])} is invalid: ${issue?.message}`);
  }
  cached = parsed.data;
  return cached;
}

/** Defaults of the embedded setup. */
export const DEFAULTS = {
  api: 'http://127.0.0.1:8787',
  port: 8787,
  chainPort: 9944,
  dataDir: '.obscura',
  workerId: 'worker-1',
  maxUploadBytes: 2 * 1024 ** 3,
} as const;
