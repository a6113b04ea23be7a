/**
 * Choosing a worker's evidence provider. A user picks a TEE (`obscura serve --tee`, or
 * OBSCURA_TEE), optionally with the device root or agent endpoint; the host hands these
 * settings to each enclave process as environment variables (teeEnv), and the enclave
 * parses them back and builds its provider (providerConfig, then factory.ts).
 *
 *   --tee simulated     the simulated authority (default)
 *   --tee tdx           Intel TDX through configfs-tsm; --tee-root overrides /sys/kernel/config/tsm/report;
 *                       --dstack-endpoint names the dstack guest agent whose KMS gives the sealing root
 *   --tee dstack        Intel TDX through the dstack guest agent; --dstack-endpoint overrides the socket
 *   --tee sgx-gramine   Intel SGX under Gramine; --tee-root overrides /dev/attestation
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { DstackApiSchema } from './dstack.ts';

/** The TEE a user picks. */
export const TeeChoiceSchema = z.enum(['simulated', 'tdx', 'dstack', 'sgx-gramine']);
export type TeeChoice = z.infer<typeof TeeChoiceSchema>;

const Endpoint = z
  .string()
  .refine(
    (s) => s.startsWith('/') || /^https?:\/\/[^\s]+$/.test(s),
    'must be an absolute unix socket path or an http(s) URL',
  );

/** What a host tells its workers about their TEE. */
export const TeeSettingsSchema = z.object({
  tee: TeeChoiceSchema,
  /** Device root: the configfs-tsm report directory (tdx) or the attestation pseudo-filesystem (sgx-gramine). */
  root: z.string().min(1).optional(),
  /** The dstack guest agent: a unix socket path or an http(s) URL (dstack; tdx: its key provider). */
  endpoint: Endpoint.optional(),
});
export type TeeSettings = z.infer<typeof TeeSettingsSchema>;

/** A provider's configuration, as createProvider takes it. */
export const ProviderConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('simulated'), dataDir: z.string().min(1) }),
  z.object({
    kind: z.literal('tdx-configfs'),
    root: z.string().min(1).optional(),
    keyProvider: Endpoint.optional(),
  }),
  z.object({ kind: z.literal('dstack'), endpoint: Endpoint.optional(), api: DstackApiSchema.optional() }),
  z.object({ kind: z.literal('sgx-gramine'), root: z.string().min(1).optional() }),
]);
export type ProviderConfig = z.infer<typeof ProviderConfigSchema>;

/** The provider configuration for a worker's settings; `dataDir` holds the simulated authority. */
export function providerConfig(settings: TeeSettings, dataDir: string): ProviderConfig {
  const root = settings.root === undefined ? {} : { root: resolve(settings.root) };
  switch (settings.tee) {
    case 'simulated':
      return { kind: 'simulated', dataDir };
    case 'tdx':
      return {
        kind: 'tdx-configfs',
        ...root,
        ...(settings.endpoint === undefined ? {} : { keyProvider: settings.endpoint }),
      };
    case 'dstack':
      return { kind: 'dstack', ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }) };
    case 'sgx-gramine':
      return { kind: 'sgx-gramine', ...root };
  }
}

/** The environment variables that carry TEE settings to an enclave process (unset ones as undefined, so inherited values are dropped). */
export function teeEnv(settings: TeeSettings): {
  OBSCURA_TEE: TeeChoice;
  OBSCURA_TEE_ROOT: string | undefined;
  OBSCURA_DSTACK_ENDPOINT: string | undefined;
} {
  return {
    OBSCURA_TEE: settings.tee,
    OBSCURA_TEE_ROOT: settings.root,
    OBSCURA_DSTACK_ENDPOINT: settings.endpoint,
  };
}
