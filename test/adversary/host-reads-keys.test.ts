/**
 * Attack: the host reads the worker's sealed state and the key it is sealed under from the
 * data directory, derives the state key the way src/enclave/state.ts does (HKDF of the
 * sealing root and the public measurement), decrypts the state and walks away with the
 * worker's age identity, which opens every dataset sealed to it. The promise it would break:
 * on a hardware TEE the sealing root comes from the TEE itself (Gramine's MRENCLAVE sealing
 * key, the dstack KMS), never from a file the host can read, so the data directory alone
 * unseals nothing. Only the simulated TEE keeps its root on disk, and then the worker says
 * `simulated` everywhere it is shown. Real enclave processes; the TEEs are fakes of their
 * recorded interfaces (test/fixtures/dcap quotes behind /dev/attestation and a dstack agent).
 */
import { createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/client.ts';
import { identityToRecipient } from '../../src/crypto/index.ts';
import { startTestHost } from '../helpers/host.ts';
import {
  addGramineSealingKey,
  fakeGramineDevice,
  startDstackAgent,
  TestEnclaves,
} from '../helpers/tee-fakes.ts';

const work = mkdtempSync(join(tmpdir(), 'obscura-host-reads-keys-'));
const enclaves = new TestEnclaves();
let agent: { close(): Promise<void> } | undefined;
afterAll(async () => {
  await enclaves.stop();
  await agent?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Every file under `dir`, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

/**
 * The host's attack: take every file of the data directory as a candidate sealing root
 * (raw, and hex-decoded as the simulated platform.key is stored), derive the state key with
 * the public measurement, and try it on the worker's sealed state. Returns the age identity
 * it recovers, if any.
 */
function attack(
  dataDir: string,
  workerId: string,
  measurement: string,
  extraRoots: Buffer[] = [],
): string | undefined {
  const stateDir = join(dataDir, 'workers', workerId);
  const sealed = readdirSync(stateDir)
    .filter((f) => f.endsWith('.sealed'))
    .map((f) => readFileSync(join(stateDir, f)));
  const candidates: Buffer[] = files(dataDir).flatMap((f) => {
    const raw = readFileSync(f);
    const text = raw.toString('utf8').trim();
    return /^([0-9a-f]{2})+$/.test(text) ? [raw, Buffer.from(text, 'hex')] : [raw];
  });
  candidates.push(...extraRoots);
  for (const box of sealed) {
    for (const root of candidates) {
      const key = Buffer.from(
        hkdfSync('sha256', root, Buffer.from(measurement, 'hex'), 'obscura-sealing/1', 32),
      );
      try {
        const d = createDecipheriv('aes-256-gcm', key, box.subarray(8, 20));
        d.setAAD(Buffer.from(measurement, 'hex'));
        d.setAuthTag(box.subarray(20, 36));
        const plain = Buffer.concat([d.update(box.subarray(36)), d.final()]);
        return (JSON.parse(plain.toString('utf8')) as { ageIdentity: string }).ageIdentity;
      } catch {
        // not this one
      }
    }
  }
  return undefined;
}

describe('the host reads the keys from the data directory', () => {
  const socket = join(work, 'dstack.sock');
  const kmsKey = randomBytes(32);

  beforeAll(async () => {
    // A dstack guest agent: quotes carry the report data asked for; GetKey returns the app's KMS key.
    agent = await startDstackAgent(socket, kmsKey);
  });

  it('sgx-gramine: the sealed state does not open with anything in the data directory', async () => {
    const dataDir = join(work, 'sgx-data');
    const root = join(work, 'attestation');
    fakeGramineDevice(root);
    addGramineSealingKey(root);
    const worker = await enclaves.start(dataDir, 'w-sgx', { tee: 'sgx-gramine', root });
    expect(worker.info.sealingRoot).toBe('sgx-mrenclave');
    expect(existsSync(join(dataDir, 'simulated-tee'))).toBe(false);
    expect(attack(dataDir, 'w-sgx', worker.info.measurement)).toBeUndefined();
    // The attack is sound: handed the TEE's own key (which the host cannot read), it opens the state.
    const identity = attack(dataDir, 'w-sgx', worker.info.measurement, [
      readFileSync(join(root, 'keys', '_sgx_mrenclave')),
    ]);
    expect(identity && identityToRecipient(identity)).toBe(worker.info.keys.recipient);
  }, 60_000);

  it('dstack: the sealed state does not open with anything in the data directory', async () => {
    const dataDir = join(work, 'dstack-data');
    const worker = await enclaves.start(dataDir, 'w-dstack', { tee: 'dstack', endpoint: socket });
    expect(worker.info.sealingRoot).toBe('dstack-kms');
    expect(existsSync(join(dataDir, 'simulated-tee'))).toBe(false);
    expect(attack(dataDir, 'w-dstack', worker.info.measurement)).toBeUndefined();
    const identity = attack(dataDir, 'w-dstack', worker.info.measurement, [kmsKey]);
    expect(identity && identityToRecipient(identity)).toBe(worker.info.keys.recipient);
  }, 60_000);

  it('simulated: the attack works, and the worker says simulated everywhere it is shown', async () => {
    const t = await startTestHost();
    try {
      const [w] = t.host.workers.list();
      if (!w) throw new Error('no worker');
      const identity = attack(t.dataDir, w.id, w.measurement);
      expect(identity && identityToRecipient(identity)).toBe(w.recipient);
      const api = new ApiClient(t.host.url);
      const { workers } = (await api.get('/v1/workers')) as {
        workers: { simulated: boolean; sealingRoot: string; tee: string }[];
      };
      expect(workers[0]).toMatchObject({ tee: 'simulated', simulated: true, sealingRoot: 'simulated-file' });
      const att = (await api.get(
        `/v1/workers/${w.id}/attestation?nonce=${randomBytes(32).toString('hex')}`,
      )) as { sealingRoot: string; evidence: { tee: string } };
      expect(att).toMatchObject({ sealingRoot: 'simulated-file', evidence: { tee: 'simulated' } });
      expect(t.logs.join('\n')).toMatch(
        /warn \[worker-1\] sealing root: simulated-file \(SIMULATED sealing root/,
      );
    } finally {
      await t.close();
    }
  }, 180_000);
});
