/**
 * Fetching and checking a worker's attestation with a fresh nonce, as `attest`, `workers` and
 * `seal` do, and turning the attestation flags they share (--policy, --pccs, --collateral,
 * --at, --cache-dir) into verifier expectations.
 */
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { WorkerRecordSchema, type WorkerRecord } from '../contracts/worker-record.ts';
import {
  type AttestationPolicy,
  type AttestationVerdict,
  type CollateralSource,
  EvidenceSchema,
  loadPolicy,
  verifyEvidence,
} from '../attestation/index.ts';
import { ObscuraError } from '../common/errors.ts';
import type { ApiClient } from './client.ts';

const WorkersSchema = z.object({ workers: z.array(WorkerRecordSchema) });
const AttestationSchema = z.object({ evidence: EvidenceSchema });

/** The workers the API lists. */
export async function listWorkers(api: ApiClient): Promise<WorkerRecord[]> {
  return WorkersSchema.parse(await api.get('/v1/workers')).workers;
}

/** How a worker's attestation is judged. */
export interface AttestOptions {
  allowSimulated: boolean;
  /** Accepted measurements (`--measurement`): simulated measurement, MRTD or MRENCLAVE. */
  measurements?: readonly string[];
  policy?: AttestationPolicy;
  collateral?: CollateralSource;
  /** Verification time, Unix seconds. */
  at?: number;
}

/** Ask a worker for evidence bound to a nonce made here, and verify it (keys as the API lists them). */
export async function attestWorker(
  api: ApiClient,
  worker: WorkerRecord,
  opts: AttestOptions,
): Promise<AttestationVerdict> {
  const nonce = randomBytes(32).toString('hex');
  const { evidence } = AttestationSchema.parse(
    await api.get(`/v1/workers/${encodeURIComponent(worker.id)}/attestation?nonce=${nonce}`),
  );
  return verifyEvidence(evidence, {
    nonce,
    keys: { recipient: worker.recipient, signingKey: worker.signingKey },
    allowSimulated: opts.allowSimulated,
    ...(opts.measurements ? { measurements: opts.measurements } : {}),
    ...(opts.policy ? { policy: opts.policy } : {}),
    ...(opts.collateral ? { collateral: opts.collateral } : {}),
    ...(opts.at !== undefined ? { at: opts.at } : {}),
  });
}

/** The attestation flags commands share. */
export interface AttestationFlags {
  policy?: string;
  /** An attestation policy already loaded (e.g. the one inside a dataset policy); `policy` wins. */
  policyValue?: AttestationPolicy;
  pccs?: string;
  collateral?: string;
  cacheDir?: string;
  at?: string;
}

/** Where collateral is cached by default: `$XDG_CACHE_HOME/obscura/collateral` (or ~/.cache/…). */
export function defaultCollateralCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'obscura', 'collateral');
}

/**
 * A collateral source for the flags: the `--pccs` URL (default Intel's PCS) with the disk
 * cache. The DCAP code is loaded only when a quote needs it.
 */
export function pccsSourceFor(flags: AttestationFlags): CollateralSource {
  let source: Promise<CollateralSource> | undefined;
  const load = async (): Promise<CollateralSource> => {
    const { PccsCollateralSource } = await import('../attestation/dcap/source.ts');
    return new PccsCollateralSource({
      ...(flags.pccs ? { url: flags.pccs } : {}),
      cacheDir: flags.cacheDir ?? defaultCollateralCacheDir(),
    });
  };
  return {
    collateralFor: async (quote, at) => {
      source ??= load();
      return (await source).collateralFor(quote, at);
    },
  };
}

/** Parse `--at SECONDS` (Unix seconds). */
export function parseAt(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,12}$/.test(text))
    throw new ObscuraError('bad_option', `--at takes Unix seconds, not ${JSON.stringify(text)}`, 400);
  return Number(text);
}

/** The policy, collateral source and time the flags ask for; a bad policy or collateral file fails here. */
export async function attestationSetup(
  flags: AttestationFlags,
): Promise<{ policy?: AttestationPolicy; collateral: CollateralSource; at?: number }> {
  const at = parseAt(flags.at);
  const policy = flags.policy ? await loadPolicy(flags.policy) : flags.policyValue;
  let collateral: CollateralSource;
  if (flags.collateral) {
    const { fixedCollateral, loadCollateralFile } = await import('../attestation/dcap/index.ts');
    collateral = fixedCollateral(await loadCollateralFile(flags.collateral), `file ${flags.collateral}`);
  } else {
    collateral = pccsSourceFor(flags);
  }
  return { ...(policy ? { policy } : {}), collateral, ...(at !== undefined ? { at } : {}) };
}
