/**
 * The enclave's long-lived identity (its age X25519 identity and Ed25519 signing seed),
 * kept on the untrusted disk only sealed to the enclave's measurement: AES-256-GCM under a
 * key derived from the platform's sealing root and the measurement, as SGX's MRENCLAVE
 * sealing does. The same code on the same platform unseals it after a restart; other code
 * (another measurement) cannot, and starts with a new identity and no access to datasets
 * sealed to the old one until an authorised hand-over gives it the old identity.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { ObscuraError } from '../common/errors.ts';
import { generateEd25519 } from '../common/ed25519.ts';
import { generateIdentity } from '../crypto/age/x25519.ts';
import { EMPTY_LEDGER, LedgerStateSchema } from '../contracts/ledger.ts';

export const EnclaveStateSchema = z.object({
  version: z.literal(1),
  workerId: z.string(),
  ageIdentity: z.string().startsWith('AGE-SECRET-KEY-1'),
  signingSeed: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.iso.datetime(),
  /**
   * The manifests this identity has accepted (their hash and the measurements each owner
   * accepts): a hand-over goes only to code that every one of these owners accepts.
   */
  acceptedManifests: z
    .array(z.object({ hash: z.string().regex(/^[0-9a-f]{64}$/), measurements: z.array(z.string()) }))
    .default([]),
  /** Budget spends and policy updates (ledger.ts); travels with the identity in a hand-over. */
  ledger: LedgerStateSchema.default(EMPTY_LEDGER),
  /**
   * The accounts (SS58, prefix 42) whose signed upgrade authorisations this identity honours:
   * those the host named when the identity was made, fixed from then on (a later host cannot
   * add any) and handed over with it. Absent only in state sealed before operators were kept.
   */
  operators: z.array(z.string()).optional(),
});

/** The enclave's secret identity. Lives only in enclave memory and, sealed, on disk. */
export type EnclaveState = z.infer<typeof EnclaveStateSchema>;

const MAGIC = Buffer.from('OBSEAL1\n');

function sealingKey(platformSecret: Uint8Array, measurement: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', platformSecret, Buffer.from(measurement, 'hex'), 'obscura-sealing/1', 32),
  );
}

/** Path of the sealed state of a worker for one measurement. */
export function sealedStatePath(stateDir: string, measurement: string): string {
  return join(stateDir, `state-${measurement.slice(0, 16)}.sealed`);
}

/** Seal `state` to (platform, measurement) and write it atomically. */
export function writeSealedState(
  path: string,
  state: EnclaveState,
  platformSecret: Uint8Array,
  measurement: string,
): void {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(platformSecret, measurement), iv);
  cipher.setAAD(Buffer.from(measurement, 'hex'));
  const body = Buffer.concat([cipher.update(JSON.stringify(state), 'utf8'), cipher.final()]);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.concat([MAGIC, iv, cipher.getAuthTag(), body]), { mode: 0o600 });
  renameSync(tmp, path);
}

/** Unseal state written by writeSealedState; throws 'enclave_state_unsealable' if it is not ours. */
export function readSealedState(path: string, platformSecret: Uint8Array, measurement: string): EnclaveState {
  const buf = readFileSync(path);
  try {
    if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('magic');
    const iv = buf.subarray(MAGIC.length, MAGIC.length + 12);
    const tag = buf.subarray(MAGIC.length + 12, MAGIC.length + 28);
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(platformSecret, measurement), iv);
    decipher.setAAD(Buffer.from(measurement, 'hex'));
    decipher.setAuthTag(tag);
    const plain = Buffer.concat([decipher.update(buf.subarray(MAGIC.length + 28)), decipher.final()]);
    return EnclaveStateSchema.parse(JSON.parse(plain.toString('utf8')));
  } catch (e) {
    throw new ObscuraError(
      'enclave_state_unsealable',
      'sealed enclave state cannot be unsealed by this enclave',
      500,
      undefined,
      { cause: e },
    );
  }
}

/** Restore the identity sealed to this measurement, or make and seal a new one. */
export function loadOrCreateState(args: {
  stateDir: string;
  workerId: string;
  platformSecret: Uint8Array;
  measurement: string;
  /** The operators a new identity honours (ignored when one is restored). */
  operators?: string[];
}): { state: EnclaveState; restored: boolean } {
  const path = sealedStatePath(args.stateDir, args.measurement);
  if (existsSync(path)) {
    return { state: readSealedState(path, args.platformSecret, args.measurement), restored: true };
  }
  const state: EnclaveState = {
    version: 1,
    workerId: args.workerId,
    acceptedManifests: [],
    ledger: EMPTY_LEDGER,
    operators: args.operators ?? [],
    ageIdentity: generateIdentity().identity,
    signingSeed: generateEd25519().seed.toString('hex'),
    createdAt: new Date().toISOString(),
  };
  writeSealedState(path, state, args.platformSecret, args.measurement);
  return { state, restored: false };
}
