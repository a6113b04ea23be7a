/**
 * The simulated TEE: where no hardware TEE exists, a local simulated authority (an Ed25519
 * key made on first start in the data directory) plays the vendor's attestation root and
 * signs reports binding the measurement, the enclave's key digest and the verifier's nonce.
 * Anyone who can read the data directory can forge such a report, which is why every
 * verifier refuses simulated evidence unless told to accept it and every output says so.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { canonicalJson } from '../common/hash.ts';
import { ed25519FromSeed, ed25519Sign, generateEd25519, type Ed25519KeyPair } from '../common/ed25519.ts';
import { type EnclaveKeys, keysDigest, type SimulatedEvidence, type SimulatedReport } from './evidence.ts';

/** Where the simulated authority and platform secrets live under a data directory. */
export function simulatedTeeDir(dataDir: string): string {
  return join(dataDir, 'simulated-tee');
}

function loadOrCreateSecret(path: string, make: () => Buffer): Buffer {
  if (existsSync(path)) return Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const secret = make();
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${secret.toString('hex')}\n`, { mode: 0o600 });
  renameSync(tmp, path);
  return secret;
}

/** The simulated authority's key pair, created on first use. */
export function simulatedAuthority(dataDir: string): Ed25519KeyPair {
  const seed = loadOrCreateSecret(
    join(simulatedTeeDir(dataDir), 'authority.key'),
    () => generateEd25519().seed,
  );
  return ed25519FromSeed(seed);
}

/**
 * The simulated platform's sealing root: plays the CPU-fused secret a real TEE derives its
 * measurement-bound sealing keys from.
 */
export function simulatedPlatformSecret(dataDir: string): Buffer {
  return loadOrCreateSecret(join(simulatedTeeDir(dataDir), 'platform.key'), () => {
    return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(32)));
  });
}

/** Evidence for an enclave, signed by the simulated authority. */
export function simulatedEvidence(args: {
  dataDir: string;
  workerId: string;
  measurement: string;
  keys: EnclaveKeys;
  nonce: string;
  now?: Date;
}): SimulatedEvidence {
  const authority = simulatedAuthority(args.dataDir);
  const report: SimulatedReport = {
    format: 'obscura-simulated-report/1',
    tee: 'simulated',
    workerId: args.workerId,
    measurement: args.measurement,
    keysDigest: keysDigest(args.keys),
    nonce: args.nonce,
    issuedAt: (args.now ?? new Date()).toISOString(),
  };
  return {
    tee: 'simulated',
    report,
    authorityKey: authority.publicKey,
    signature: ed25519Sign(authority.seed, canonicalJson(report)),
    keys: args.keys,
  };
}
