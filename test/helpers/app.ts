/**
 * The API application in-process, with test doubles of the enclave and the chain: the host's
 * own checks (access rules, schemas, refusals before anything runs, what is stored) run as
 * they do in `obscura serve`, on real stores in a temp directory, without starting a chain or
 * an enclave process. A double answers only what a test tells it to and records every
 * request, so a test can show the enclave was (or was never) asked. The doubles live here,
 * under test/, and never on a path a user runs; the end-to-end suite runs the real parts.
 */
import { ChainHealth } from '../../src/host/api/anchoring.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/host/api/app.ts';
import type { HostContext } from '../../src/host/api/context.ts';
import { HostMetrics } from '../../src/host/api/metrics.ts';
import { DEFAULT_UPLOAD_LIMITS, UploadGate, type UploadLimits } from '../../src/host/api/uploads.ts';
import { WorkerPool } from '../../src/host/api/workers.ts';
import type { ChainClient } from '../../src/chain/index.ts';
import type { ChainIdentity } from '../../src/chain/schemas.ts';
import { generateEd25519 } from '../../src/common/ed25519.ts';
import { ObscuraError } from '../../src/common/errors.ts';
import { cryptoReady, generateIdentity } from '../../src/crypto/index.ts';
import type { EnclaveClient } from '../../src/host/enclave-client.ts';
import type {
  EnclaveInfo,
  HostRequest,
  HostRequestType,
  ResponseValue,
} from '../../src/contracts/enclave-protocol.ts';
import { BlobStore, Metadata, openDb, PrivacyStore, ReplayStore } from '../../src/host/store/index.ts';

type RequestBody<T extends HostRequestType> = Omit<Extract<HostRequest, { type: T }>, 'id' | 'type'>;

/** How a double enclave answers one kind of request (throw an ObscuraError to refuse). */
export type EnclaveHandler<T extends HostRequestType> = (
  body: RequestBody<T>,
) => ResponseValue<T> | Promise<ResponseValue<T>>;

/** The answers a double enclave gives, by request type; a request of any other type fails the test's request with 500. */
export type EnclaveHandlers = { [T in HostRequestType]?: EnclaveHandler<T> };

/**
 * A stand-in for one enclave process: what it says about itself (fresh keys, a fixed
 * measurement, simulated TEE), the requests it got, and the answers the test gave it.
 */
export class EnclaveDouble {
  readonly requests: { type: HostRequestType; body: unknown }[] = [];
  running = true;
  readonly info: EnclaveInfo;

  constructor(
    workerId: string,
    public handlers: EnclaveHandlers = {},
    measurement = 'ab'.repeat(32),
  ) {
    this.info = {
      workerId,
      tee: 'simulated',
      provider: 'simulated',
      measurement,
      measurementSource: 'code',
      sealingRoot: 'simulated-file',
      keys: { recipient: generateIdentity().recipient, signingKey: generateEd25519().publicKey },
      restored: false,
    };
  }

  /** The requests of one type, in order. */
  asked(type: HostRequestType): unknown[] {
    return this.requests.filter((r) => r.type === type).map((r) => r.body);
  }

  /** Answer as the test's handler for this type does. */
  async request<T extends HostRequestType>(type: T, body: RequestBody<T>): Promise<ResponseValue<T>> {
    this.requests.push({ type, body });
    if (!this.running)
      throw new ObscuraError('enclave_crashed', `enclave ${this.info.workerId} is not running`, 503);
    const handler = this.handlers[type] as EnclaveHandler<T> | undefined;
    if (!handler)
      throw new ObscuraError(
        'test_double_unexpected',
        `the enclave double was not told how to answer ${type}`,
        500,
      );
    return handler(body);
  }

  /** Stop answering (as a process that exited). */
  async stop(): Promise<void> {
    this.running = false;
  }

  /** As stop: a double has nothing to kill. */
  async kill(): Promise<void> {
    this.running = false;
  }
}

/** The chain calls the API makes; each fails the request with 500 unless the test gives it. */
export type ChainDouble = Partial<
  Pick<ChainClient, 'anchor' | 'anchorLedgerHead' | 'verifyAnchor' | 'identity'>
>;

/** The identity a double chain reports unless told otherwise. */
export const DOUBLE_CHAIN_IDENTITY: ChainIdentity = {
  genesisHash: `0x${'11'.repeat(32)}`,
  block1Hash: `0x${'22'.repeat(32)}`,
  chainName: 'Obscura Test Double',
  specName: 'double',
  specVersion: 1,
  ss58Prefix: 42,
};

function chainDouble(calls: ChainDouble): ChainClient {
  const refuse = (name: string) => () => {
    throw new ObscuraError(
      'test_double_unexpected',
      `the chain double was not told how to answer ${name}`,
      500,
    );
  };
  return {
    identity: calls.identity ?? (async () => DOUBLE_CHAIN_IDENTITY),
    headNumber: async () => 1,
    anchor: calls.anchor ?? refuse('anchor'),
    anchorLedgerHead: calls.anchorLedgerHead ?? refuse('anchorLedgerHead'),
    verifyAnchor: calls.verifyAnchor ?? refuse('verifyAnchor'),
    close: async () => {},
    // The double implements only what the API calls; the cast is the test's promise of that.
  } as unknown as ChainClient;
}

/** A running in-process API over doubles. */
export interface TestApp {
  url: string;
  ctx: HostContext;
  dataDir: string;
  logs: string[];
  /** Jobs the API queued for the runner (no runner runs here). */
  queued: () => number;
  close(): Promise<void>;
}

/** Serve createApp on a free port of 127.0.0.1 with `enclaves` as the workers and a double chain. */
export async function startTestApp(opts: {
  enclaves: EnclaveDouble[];
  chain?: ChainDouble;
  operators?: string[];
  maxUploadBytes?: number;
  /** Per-account upload limits, over the defaults `obscura serve` uses. */
  uploadLimits?: Partial<UploadLimits>;
}): Promise<TestApp> {
  await cryptoReady();
  const dataDir = mkdtempSync(join(tmpdir(), 'obscura-app-'));
  const db = openDb(join(dataDir, 'obscura.sqlite'));
  const workers = new WorkerPool();
  // WorkerPool holds EnclaveClients; the double answers the same calls the API makes.
  for (const e of opts.enclaves) workers.add(e as unknown as EnclaveClient);
  const blobs = new BlobStore(join(dataDir, 'blobs'));
  const logs: string[] = [];
  let queued = 0;
  const uploadLimits: UploadLimits = { ...DEFAULT_UPLOAD_LIMITS, ...opts.uploadLimits };
  const ctx: HostContext = {
    metadata: new Metadata(db),
    privacy: new PrivacyStore(db),
    seenRequests: new ReplayStore(db),
    uploadLimits,
    uploads: new UploadGate(uploadLimits),
    blobs,
    workers,
    chain: chainDouble(opts.chain ?? {}),
    chainEndpoint: 'ws://127.0.0.1:1',
    chainHealth: new ChainHealth(),
    shutdown: new AbortController().signal,
    limits: { maxUploadBytes: opts.maxUploadBytes ?? 1 << 30 },
    log: (level, m) => logs.push(`${level} ${m}`),
    metrics: new HostMetrics(),
    operators: opts.operators ?? [],
    notifyJobQueued: () => {
      queued++;
    },
    cancelJob: async () => 'cancelled',
  };
  const server = await new Promise<Server>((resolve, reject) => {
    // The URL in the OpenAPI document is fixed up once the port is known; tests do not read it.
    const s = createApp(ctx, { serverUrl: 'http://127.0.0.1' }).listen(0, '127.0.0.1');
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ctx,
    dataDir,
    logs,
    queued: () => queued,
    close: async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
