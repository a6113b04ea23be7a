/**
 * A real enclave process on each kind of evidence provider, through the host's EnclaveClient:
 * the TEE settings reach the process, `hello` reports the TEE, the provider, the measurement
 * and where it comes from, `attest` answers with the provider's evidence, and a worker whose
 * TEE device is missing fails to start saying which. Hardware is replaced by the recorded
 * quotes of test/fixtures/dcap/ behind a fake dstack agent and a fake /dev/attestation.
 * A hardware worker takes its sealing root from its TEE (the dstack KMS key, Gramine's
 * MRENCLAVE sealing key), says so, and never touches `<data dir>/simulated-tee/`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysDigest, QuoteEvidenceSchema } from '../../src/attestation/evidence.ts';
import { readQuoteFields } from '../../src/attestation/providers/index.ts';
import { computeMeasurement } from '../../src/contracts/measurement.ts';
import {
  addGramineSealingKey,
  fakeGramineDevice,
  startDstackAgent,
  TestEnclaves,
} from '../helpers/tee-fakes.ts';

const work = mkdtempSync(join(tmpdir(), 'obscura-tee-worker-'));
const enclaves = new TestEnclaves();
let agent: { close(): Promise<void> } | undefined;
afterAll(async () => {
  await enclaves.stop();
  await agent?.close();
  rmSync(work, { recursive: true, force: true });
});

const dataDir = join(work, 'data');

const start = (workerId: string, tee: Parameters<typeof enclaves.start>[2]) =>
  enclaves.start(dataDir, workerId, tee);

describe('enclave worker on a TEE provider', () => {
  const socket = join(work, 'dstack.sock');

  beforeAll(async () => {
    // A dstack guest agent answering GetQuote with the recorded quote carrying the report data asked for.
    agent = await startDstackAgent(socket, Buffer.alloc(32, 0xab));
  });

  it('dstack: reports tdx/dstack with the code measurement and the quote registers, and attests with a quote', async () => {
    const client = await start('tee-dstack', { tee: 'dstack', endpoint: socket });
    expect(client.info).toMatchObject({
      tee: 'tdx',
      provider: 'dstack',
      measurement: computeMeasurement(),
      measurementSource: 'code',
      hardware: {
        tee: 'tdx',
        mrtd: expect.stringMatching(/^c68518a0/),
        rtmr3: expect.stringMatching(/^a2d25bc8/),
      },
      sealingRoot: 'dstack-kms',
    });
    expect(readdirSync(join(dataDir, 'workers', 'tee-dstack')).some((f) => f.endsWith('.sealed'))).toBe(true);
    expect(existsSync(join(dataDir, 'simulated-tee'))).toBe(false);
    const nonce = randomBytes(32).toString('hex');
    const { evidence } = await client.request('attest', { nonce });
    const quote = QuoteEvidenceSchema.parse(evidence);
    expect(quote).toMatchObject({
      tee: 'tdx',
      provider: 'dstack',
      nonce,
      workerId: 'tee-dstack',
      keys: client.info.keys,
    });
    expect(readQuoteFields(Buffer.from(quote.quote, 'hex'), 'test').reportData).toBe(
      `${keysDigest(client.info.keys)}${nonce}`,
    );
  });

  it('sgx-gramine: goes by MRENCLAVE, and a device error reaches the host with its code', async () => {
    const root = join(work, 'attestation');
    fakeGramineDevice(root);
    // Without Gramine's sealing key the worker has no sealing root: it refuses to start.
    await expect(start('tee-sgx-nokey', { tee: 'sgx-gramine', root })).rejects.toMatchObject({
      code: 'enclave_start_failed',
      message: expect.stringContaining(
        `tee_device_missing: ${join(root, 'keys', '_sgx_mrenclave')} does not exist`,
      ),
    });
    addGramineSealingKey(root);
    const client = await start('tee-sgx', { tee: 'sgx-gramine', root });
    expect(client.info).toMatchObject({
      tee: 'sgx',
      provider: 'sgx-gramine',
      measurement: '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb',
      measurementSource: 'hardware',
      sealingRoot: 'sgx-mrenclave',
    });
    expect(existsSync(join(dataDir, 'simulated-tee'))).toBe(false);
    // The recorded quote carries other report data: the provider refuses to pass it off as evidence.
    await expect(client.request('attest', { nonce: randomBytes(32).toString('hex') })).rejects.toMatchObject({
      code: 'tee_report_data_mismatch',
    });
  });

  it('tdx: a worker without configfs-tsm fails to start, naming the missing directory', async () => {
    const root = join(work, 'no-configfs', 'tsm', 'report');
    await expect(start('tee-tdx', { tee: 'tdx', root })).rejects.toMatchObject({
      code: 'enclave_start_failed',
      message: expect.stringMatching(
        new RegExp(`tee_device_missing: ${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist`),
      ),
    });
  });
});
