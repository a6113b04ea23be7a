/**
 * Stand-ins for the TEE interfaces a worker reads, replaying the recorded quotes of
 * test/fixtures/dcap/: a dstack guest agent on a Unix socket and Gramine's /dev/attestation
 * as a directory; and the enclave processes a test file starts on them, stopped at its end.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { EnclaveClient } from '../../src/host/enclave-client.ts';
import { FIXTURES } from '../attestation/dcap-fixtures.ts';
import { compiledEnclave } from './compiled-enclave.ts';

/**
 * A dstack guest agent listening on `socket`: GetQuote answers the recorded quote carrying the
 * report data asked for; GetKey answers `kmsKey` (a fixed key stands in for the KMS's
 * derivation for the app and path).
 */
export async function startDstackAgent(socket: string, kmsKey: Buffer): Promise<{ close(): Promise<void> }> {
  const recorded = Buffer.from(readFileSync(join(FIXTURES, 'quote-from-tappd.hex'), 'utf8').trim(), 'hex');
  const agent = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { report_data?: string };
    let text: string;
    if (req.url === '/GetKey') {
      text = JSON.stringify({ key: kmsKey.toString('hex'), signature_chain: [] });
    } else {
      const quote = Buffer.from(recorded);
      Buffer.from(body.report_data ?? '', 'hex').copy(quote, 568);
      text = JSON.stringify({ quote: quote.toString('hex'), event_log: '[]', report_data: body.report_data });
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
  await new Promise<void>((resolve) => agent.listen(socket, () => resolve()));
  return { close: () => new Promise<void>((resolve) => agent.close(() => resolve())) };
}

/**
 * Gramine's /dev/attestation at `root`, as DCAP: the attestation type, the report-data file
 * and the recorded SGX quote. Without its sealing key (addGramineSealingKey) a worker has no
 * sealing root.
 */
export function fakeGramineDevice(root: string): void {
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'attestation_type'), 'dcap');
  writeFileSync(join(root, 'user_report_data'), Buffer.alloc(64));
  writeFileSync(join(root, 'quote'), readFileSync(join(FIXTURES, 'sgx_quote')));
}

/** Gives the fake device at `root` its MRENCLAVE sealing key (16 random bytes). */
export function addGramineSealingKey(root: string): void {
  mkdirSync(join(root, 'keys'), { recursive: true });
  writeFileSync(join(root, 'keys', '_sgx_mrenclave'), randomBytes(16));
}

/** The enclave processes a test file starts, so that its afterAll stops every one. */
export class TestEnclaves {
  readonly #started: EnclaveClient[] = [];

  /** Start a worker's enclave process on `dataDir`, on the TEE `tee` (simulated when undefined). */
  async start(
    dataDir: string,
    workerId: string,
    tee: Parameters<typeof EnclaveClient.start>[0]['tee'],
  ): Promise<EnclaveClient> {
    const client = await EnclaveClient.start({
      dataDir,
      workerId,
      spawn: compiledEnclave,
      ...(tee ? { tee } : {}),
    });
    this.#started.push(client);
    return client;
  }

  /** Stop every process started. */
  async stop(): Promise<void> {
    await Promise.all(this.#started.map((c) => c.stop()));
  }
}
