/**
 * Starting and stopping a whole API host: the chain (embedded unless an endpoint is given),
 * the enclave workers, the metadata store, the job runner and the HTTP server.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import type { TeeSettings } from '../../attestation/providers/config.ts';
import { ChainClient } from '../../chain/index.ts';
import { type EmbeddedChain, startEmbeddedChain, startEmbeddedChainProcess } from '../chain/index.ts';
import { DEFAULTS } from '../../common/env.ts';
import { ObscuraError } from '../../common/errors.ts';
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { loadOrCreateOperatorKey } from '../chain/operator.ts';
import { assertNotDevelopmentAccount, assertNotDevelopmentSuri } from '../../crypto/dev-keys.ts';
import { accountKeyFromSuri, cryptoReady } from '../../crypto/index.ts';
import { EnclaveClient, type EnclaveSpawn } from '../enclave-client.ts';
import { BlobStore, Metadata, openDb, PrivacyStore, ReplayStore } from '../store/index.ts';
import { ChainHealth } from './anchoring.ts';
import { createApp } from './app.ts';
import type { HostContext, HostLog } from './context.ts';
import { HostMetrics } from './metrics.ts';
import { JobRunner } from './runner.ts';
import { handOverFromPredecessor } from './upgrade.ts';
import { DEFAULT_UPLOAD_LIMITS, UploadGate, type UploadLimits } from './uploads.ts';
import { WorkerPool } from './workers.ts';
import { NodeRegistry } from '../federation/registry.ts';
import type { JobLimits } from '../../pipelines/limits.ts';

/** How to start a host. */
export interface HostOptions {
  dataDir: string;
  port?: number;
  host?: string;
  /** Use this chain endpoint instead of starting the embedded chain. */
  chainEndpoint?: string;
  chainPort?: number;
  /**
   * Run the embedded chain in its own process (what `obscura serve` does), so that building a
   * block never waits behind the API's requests in this event loop; default false (in this process).
   */
  chainProcess?: boolean;
  /** Secret URI of the account that signs anchors; default (embedded chain only) the key made in `<dataDir>/operator.key`. Never a development key. */
  operatorSuri?: string;
  workerIds?: string[];
  /** The TEE every worker gets its evidence from; default simulated. */
  tee?: TeeSettings;
  maxUploadBytes?: number;
  /** Free bytes kept on the data directory's disk: uploads that would go below are refused as storage_full (default 0). */
  minFreeBytes?: number;
  /** Per-account uploads in flight and bytes stored; default DEFAULT_UPLOAD_LIMITS. */
  uploadLimits?: Partial<UploadLimits>;
  log?: HostLog;
  /** Run the enclaves from this code tree instead of this one (an upgraded release). */
  enclaveRoot?: string;
  /**
   * The previous release's code tree: a worker whose enclave finds no identity sealed to its
   * measurement asks an enclave of this code for a hand-over (see upgrade.ts).
   */
  predecessorRoot?: string;
  /** Accounts that may authorise enclave upgrades besides the chain operator account. Never development accounts. */
  operators?: string[];
  /** The operator's per-job limits, given to every enclave at start (defaults where absent). */
  jobLimits?: Partial<JobLimits>;
  /** Publish this node's record on the chain at start and keep it fresh (federation across organisations); default false. */
  registerNode?: boolean;
  /** This node's API URL as other nodes reach it; default the URL it listens on. */
  publicUrl?: string;
  /** Life of the published node record in ms; default one hour. */
  nodeTtlMs?: number;
  /** What starts each worker's enclave process (default a child process; see EnclaveSpawn). */
  enclaveSpawn?: EnclaveSpawn;
  /**
   * What starts a predecessor's enclave process (default a child process, from the
   * predecessor tree's entry): a process always, since it runs another tree's code; tests
   * start it from that tree's compiled build (test/helpers/compiled-enclave.ts).
   */
  predecessorSpawn?: EnclaveSpawn;
}

/** Below this free balance (planck) a host asks the chain's faucet to fund its operator. */
const FUNDING_THRESHOLD = 10n ** 15n;

/** Ask the chain's faucet for funds when the operator runs low; where there is none, say how to fund it. */
async function fundOperator(chain: ChainClient, address: string, log: HostLog): Promise<void> {
  try {
    if ((await chain.freeBalance(address)) >= FUNDING_THRESHOLD) return;
    await chain.requestFunds(address);
    log('info', `operator ${address} funded by the chain's faucet`);
  } catch (e) {
    log(
      'warn',
      `operator ${address} has too little to pay for anchors and the chain did not fund it (${e instanceof Error ? e.message : String(e)}); send it funds (README: "Joining another chain")`,
    );
  }
}

/** The account that signs anchors: the given secret URI (never a development key), else the data directory's own. */
async function resolveOperator(
  opts: HostOptions,
  dataDir: string,
): Promise<{ address: string; suri: string }> {
  if (opts.operatorSuri !== undefined) {
    await assertNotDevelopmentSuri(opts.operatorSuri, 'OBSCURA_OPERATOR_SURI');
    const key = await accountKeyFromSuri(opts.operatorSuri);
    return { address: key.address, suri: opts.operatorSuri };
  }
  // On a chain of another node (or organisation) too: the key is this node's own, funded by
  // that chain's faucet when it has one (fundOperator), by the chain's users otherwise.
  return loadOrCreateOperatorKey(dataDir);
}

/** The upgrade operators: the anchoring account and the extra ones, as prefix-42 addresses, no development account among them. */
async function upgradeOperators(operator: string, extra: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const a of [operator, ...extra]) {
    let address: string;
    try {
      // Compared with callers' addresses, which use the generic prefix 42.
      address = encodeAddress(decodeAddress(a), 42);
    } catch {
      throw new ObscuraError('operator_invalid', `OBSCURA_OPERATORS: ${a} is not an SS58 address`, 400);
    }
    await assertNotDevelopmentAccount(address, 'OBSCURA_OPERATORS');
    if (!out.includes(address)) out.push(address);
  }
  return out;
}

/** A running host. */
export interface RunningHost {
  url: string;
  chainEndpoint: string;
  /** The account that signs this host's anchors (SS58, prefix 42). */
  operatorAddress: string;
  /** The accounts that may authorise upgrades: the operator account and `HostOptions.operators`. */
  operators: string[];
  embeddedChain: boolean;
  dataDir: string;
  workers: WorkerPool;
  /** The node registry on the chain (this node's record, when it registers, and everyone's). */
  registry: NodeRegistry;
  close(): Promise<void>;
}

/** Start everything; on any failure, stop what was started and rethrow. */
export async function startHost(opts: HostOptions): Promise<RunningHost> {
  const dataDir = resolve(opts.dataDir);
  const log: HostLog = opts.log ?? (() => {});
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // sr25519 verification (request and manifest signatures) needs its WASM ready first.
  await cryptoReady();
  const cleanups: (() => Promise<void>)[] = [];
  let closed = false;
  const cleanup = async () => {
    if (closed) return;
    closed = true;
    for (const c of [...cleanups].reverse()) await c().catch(() => {});
  };
  try {
    // Operators first: a development key is refused before anything starts.
    const operator = await resolveOperator(opts, dataDir);
    const operators = await upgradeOperators(operator.address, opts.operators ?? []);
    let embedded: EmbeddedChain | undefined;
    let chainEndpoint = opts.chainEndpoint;
    if (!chainEndpoint) {
      const chainOptions = {
        dataDir,
        port: opts.chainPort ?? DEFAULTS.chainPort,
        fundAccounts: [operator.address],
      };
      embedded = opts.chainProcess
        ? await startEmbeddedChainProcess(chainOptions, (level, m) => log(level, `[chain] ${m}`))
        : await startEmbeddedChain(chainOptions);
      cleanups.push(() => (embedded as EmbeddedChain).close());
      chainEndpoint = embedded.endpoint;
    }
    const chain = await ChainClient.connect(chainEndpoint, { operatorSuri: operator.suri });
    cleanups.push(() => chain.close());
    if (!embedded) await fundOperator(chain, operator.address, log);

    const db = openDb(join(dataDir, 'obscura.sqlite'));
    cleanups.push(async () => {
      db.close();
    });
    const metadata = new Metadata(db);

    const workers = new WorkerPool();
    cleanups.push(() => workers.stopAll());
    for (const workerId of opts.workerIds ?? [DEFAULTS.workerId]) {
      const enclaveOptions = {
        dataDir,
        workerId,
        chainEndpoint,
        operators,
        ...(opts.tee ? { tee: opts.tee } : {}),
        ...(opts.jobLimits ? { limits: opts.jobLimits } : {}),
      };
      const enclave = await EnclaveClient.start({
        ...enclaveOptions,
        ...(opts.enclaveRoot ? { root: opts.enclaveRoot } : {}),
        ...(opts.enclaveSpawn ? { spawn: opts.enclaveSpawn } : {}),
        log: (level, m) => log(level, `[${workerId}] ${m}`),
      });
      workers.add(enclave);
      if (!enclave.info.restored && opts.predecessorRoot) {
        await handOverFromPredecessor({
          newcomer: enclave,
          predecessor: {
            ...enclaveOptions,
            root: opts.predecessorRoot,
            ...(opts.predecessorSpawn ? { spawn: opts.predecessorSpawn } : {}),
          },
          metadata,
          log,
        });
      }
    }
    const blobs = new BlobStore(join(dataDir, 'blobs'), opts.minFreeBytes ?? 0);
    // What a crash left: staging files of uploads never acknowledged, and blobs committed by
    // an upload that died before its dataset was recorded (nobody was told it exists).
    await blobs.sweepTmp();
    const orphans = await blobs.sweepOrphans(new Set(metadata.datasets().map((d) => d.ciphertext.sha256)));
    if (orphans > 0) log('warn', `${orphans} blob(s) of uploads interrupted by the last stop were removed`);
    const shutdown = new AbortController();

    let runner: JobRunner | undefined;
    const uploadLimits: UploadLimits = { ...DEFAULT_UPLOAD_LIMITS, ...opts.uploadLimits };
    const ctx: HostContext = {
      metadata,
      privacy: new PrivacyStore(db),
      seenRequests: new ReplayStore(db),
      uploadLimits,
      uploads: new UploadGate(uploadLimits),
      blobs,
      workers,
      chain,
      chainEndpoint,
      chainHealth: new ChainHealth(),
      shutdown: shutdown.signal,
      limits: { maxUploadBytes: opts.maxUploadBytes ?? DEFAULTS.maxUploadBytes },
      log,
      metrics: new HostMetrics(),
      operators,
      notifyJobQueued: () => runner?.notify(),
      cancelJob: (id) => (runner as JobRunner).cancel(id),
    };
    const nodes = new NodeRegistry({
      chain,
      operator: await accountKeyFromSuri(operator.suri),
      // Known once the server listens (port 0 picks one); set below before anyone reads it.
      url: opts.publicUrl ?? '',
      workers,
      ...(opts.nodeTtlMs ? { ttlMs: opts.nodeTtlMs } : {}),
      log,
    });
    ctx.nodes = nodes;
    runner = new JobRunner(ctx);
    runner.start();
    cleanups.push(() => {
      // Anchors waiting for the chain stop waiting; what they anchor is on disk for the next start.
      shutdown.abort();
      return (runner as JobRunner).stop();
    });

    const host = opts.host ?? '127.0.0.1';
    const port = opts.port ?? DEFAULTS.port;
    const url = `http://${host}:${port}`;
    const app = createApp(ctx, { serverUrl: url });
    const server = await new Promise<Server>((resolveServer, reject) => {
      const s = app.listen(port, host);
      s.once('listening', () => resolveServer(s));
      s.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          e.code === 'EADDRINUSE'
            ? new ObscuraError('api_port_in_use', `port ${port} is already in use`, 503)
            : e,
        ),
      );
    });
    const actualPort = (server.address() as { port: number }).port;
    nodes.url = opts.publicUrl ?? `http://${host}:${actualPort}`;
    if (opts.registerNode) {
      await nodes.start();
      cleanups.push(async () => nodes.stop());
    }
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        }),
    );
    return {
      url: `http://${host}:${actualPort}`,
      chainEndpoint,
      operatorAddress: operator.address,
      operators,
      embeddedChain: embedded !== undefined,
      dataDir,
      workers,
      registry: nodes,
      close: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
