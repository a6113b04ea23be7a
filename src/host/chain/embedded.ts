/**
 * The embedded chain: a real Substrate runtime (rococo asset hub, from the raw genesis that
 * `@substrate/connect-known-chains` ships) executed by chopsticks in genesis mode, fully
 * offline, persisted in `${dataDir}/chain.sqlite` and served over WebSocket JSON-RPC so other
 * processes (the CLI verifier) can connect with `@polkadot/api`.
 *
 * Blocks are built on demand: one per arriving transaction (chopsticks "Instant" mode).
 * On resume the highest stored block becomes head (chopsticks' own setup would build a
 * fresh block #1 that replaces the stored one and breaks every later signature with
 * `1010 badProof`). The accounts it is told to fund (the host's operator, made in its data
 * directory by operator.ts) are topped up at every start by a storage write, the chain's
 * faucet (nonce kept); no development key is funded or used. The same faucet answers the
 * `obscura_fund` RPC, so that a node of another organisation that joins this chain gets
 * its operator account funded with no other step. The account nonce each signer asks for
 * before a transaction is read from storage, not computed by running the runtime (stateCall).
 */
import './log-level.ts';
import { mkdirSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import {
  Api,
  Blockchain,
  BuildBlockMode,
  type Genesis,
  ResponseError,
  type SubscriptionManager,
  allHandlers,
  destroyWorker,
  inherentProviders,
  setStorage,
} from '@acala-network/chopsticks-core';
import { StorageKey } from '@polkadot/types';
import { hexToU8a, u8aToHex } from '@polkadot/util';
import { cryptoWaitReady, decodeAddress, encodeAddress, isAddress } from '@polkadot/util-crypto';
import { chainSpec as rococoAssetHubSpec } from '@substrate/connect-known-chains/rococo_v2_2_asset_hub';
import { ObscuraError, errorMessage } from '../../common/errors.ts';
import { CODE_KEY, EmbeddedChainDb } from './embedded-db.ts';
import { genesisUpstream } from './genesis-upstream.ts';
import { listenError, serveChain } from './rpc-server.ts';
import { EMBEDDED_CHAIN_NAME } from '../../chain/schemas.ts';
import { withTimeout } from '../../chain/timeout.ts';

/** A running embedded chain. */
export interface EmbeddedChain {
  /** WebSocket endpoint, e.g. ws://127.0.0.1:9944. */
  endpoint: string;
  /** Stops serving (dropping connections), waits for pending blocks, closes the database. Idempotent; never throws. */
  close(): Promise<void>;
}

/** Options of startEmbeddedChain. */
export interface EmbeddedChainOptions {
  /** Directory of `chain.sqlite` (created if missing). */
  dataDir: string;
  /** TCP port; default 9944; 0 picks a free one (see `endpoint`). */
  port?: number;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Chain name reported by `system_chain`; default "Obscura Local". */
  name?: string;
  /** SS58 addresses to fund at every start (the operator account). */
  fundAccounts?: string[];
  /** Serve chopsticks' `dev_*` RPCs (set storage, build blocks, move the head); default false. */
  devRpc?: boolean;
}

/** Balance every funded account is topped up to at start (1,000,000 ROC of 12 decimals). */
export const EMBEDDED_FUNDING = 10n ** 18n;
/** Most accounts the faucet (`obscura_fund`) funds per start of the chain: a bound on what one local caller can make it write. */
export const FAUCET_MAX_ACCOUNTS = 64;
const STARTUP_TIMEOUT_MS = 120_000;
const CLOSE_TIMEOUT_MS = 30_000;

let running = 0;

function assertPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', (e: NodeJS.ErrnoException) => {
      probe.close();
      reject(listenError(e, port, host));
    });
    probe.once('listening', () => probe.close(() => resolve()));
    probe.listen({ port, host, exclusive: true });
  });
}

function loadGenesis(name: string): { spec: Genesis; code: string } {
  const spec = JSON.parse(rococoAssetHubSpec) as Genesis;
  spec.name = name;
  spec.id = name;
  const code = spec.genesis.raw.top[CODE_KEY];
  if (!code) throw new ObscuraError('chain_start_failed', 'the genesis spec carries no runtime code', 500);
  return { spec, code };
}

/** Tops up each account's free balance to EMBEDDED_FUNDING at the head, keeping its nonce and other fields. */
async function fund(chain: Blockchain, addresses: string[]): Promise<void> {
  const meta = await chain.head.meta;
  const entry = meta.query.system?.account;
  if (!entry) throw new ObscuraError('chain_start_failed', 'the runtime has no System.Account storage', 500);
  const items: [string, string][] = [];
  for (const address of addresses) {
    const key = new StorageKey(meta.registry, [entry, [address]]);
    const raw = await chain.head.get(key.toHex());
    const info = meta.registry.createType(key.outputType, raw ? hexToU8a(raw) : undefined) as unknown as {
      toJSON(): { nonce: number; providers: number; data: Record<string, unknown> };
    };
    const json = info.toJSON();
    if (BigInt(String(json.data.free ?? 0)) >= EMBEDDED_FUNDING / 2n) continue;
    const value = {
      ...json,
      providers: Math.max(1, json.providers),
      data: { ...json.data, free: EMBEDDED_FUNDING.toString() },
    };
    items.push([key.toHex(), meta.registry.createType(key.outputType, value).toHex()]);
  }
  if (items.length > 0) await setStorage(chain, items as [`0x${string}`, `0x${string}`][]);
}

/** A handler's subscriptions: state_call has none. */
const NO_SUBSCRIPTIONS: SubscriptionManager = {
  subscribe: () => {
    throw new ResponseError(-32601, 'no subscriptions here');
  },
  unsubscribe: () => {},
};

/**
 * `state_call`, with the account nonce that every transaction's signer asks for first
 * (polkadot.js: `AccountNonceApi_account_nonce`) read from the block's storage, System.Account
 * of the SCALE-encoded account, which is what this FRAME runtime's AccountNonceApi returns;
 * every other call, an undecodable account or an unknown block goes to chopsticks as before.
 * Each runtime call hands the whole compressed runtime to chopsticks' executor, which unpacks
 * and prepares it again, so every call costs about the same however little it computes: this
 * one was one of the seven calls of every anchor, about a seventh of the chain's CPU.
 */
async function stateCall(chain: Blockchain, params: unknown[]): Promise<unknown> {
  const [method, data, at] = params;
  if (
    method === 'AccountNonceApi_account_nonce' &&
    typeof data === 'string' &&
    /^0x[0-9a-f]{64}$/i.test(data)
  ) {
    const block = await chain.getBlock(typeof at === 'string' ? (at as `0x${string}`) : undefined);
    const meta = await block?.meta;
    const entry = meta?.query.system?.account;
    if (block && meta && entry) {
      const key = new StorageKey(meta.registry, [entry, [hexToU8a(data)]]);
      const raw = await block.get(key.toHex());
      const info = meta.registry.createType(key.outputType, raw ? hexToU8a(raw) : undefined) as unknown as {
        nonce: { toU8a(): Uint8Array };
      };
      return u8aToHex(info.nonce.toU8a());
    }
  }
  return allHandlers.state_call?.({ chain }, params, NO_SUBSCRIPTIONS);
}

/**
 * Starts the embedded chain (resuming `${dataDir}/chain.sqlite` if present) and serves it.
 * Throws 'chain_port_in_use' (409) naming the port, 'chain_start_failed' (500) otherwise.
 */
export async function startEmbeddedChain(opts: EmbeddedChainOptions): Promise<EmbeddedChain> {
  const port = opts.port ?? 9944;
  const host = opts.host ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ObscuraError('chain_start_failed', `invalid port ${port}`, 400);
  }
  await assertPortFree(port, host);
  mkdirSync(opts.dataDir, { recursive: true });
  const { spec, code } = loadGenesis(opts.name ?? EMBEDDED_CHAIN_NAME);
  await cryptoWaitReady();

  running++;
  let chain: Blockchain | undefined;
  let db: EmbeddedChainDb | undefined;
  const abort = async () => {
    await chain?.close().catch(() => undefined);
    if (!chain) await db?.close().catch(() => undefined);
    if (--running === 0) await destroyWorker().catch(() => undefined);
  };
  try {
    db = new EmbeddedChainDb(join(opts.dataDir, 'chain.sqlite'), code);
    const genesis = genesisUpstream(spec);
    const api = new Api(genesis);
    await api.isReady;
    const genesisHash = (await api.getFinalizedHead()) as `0x${string}`;
    const created = new Blockchain({
      api,
      buildBlockMode: BuildBlockMode.Instant,
      inherentProviders,
      db,
      header: { hash: genesisHash, number: 0 },
      registeredTypes: {},
    });
    chain = created;
    const started = (async () => {
      const highest = await created.db?.queryHighestBlock();
      if (highest) {
        const head = await created.loadBlockFromDB(highest.number);
        if (!head) throw new Error(`stored block #${highest.number} cannot be loaded`);
        await created.setHead(head);
      } else {
        await created.newBlock();
      }
      if (opts.fundAccounts?.length) await fund(created, opts.fundAccounts);
    })();
    await withTimeout(started, STARTUP_TIMEOUT_MS, 'starting the embedded chain');
    await assertPortFree(port, host);
    // The faucet: another organisation's node joining this chain (`--chain ws://…`) asks it
    // to fund its new operator account, as this host's own is at start. It writes one
    // balance (never history, unlike dev_setStorage) for a well-formed address, at most
    // FAUCET_MAX_ACCOUNTS accounts per start; the balance is worthless outside this chain.
    const funded = new Set<string>();
    const faucet = async (params: unknown[]) => {
      const address = params[0];
      if (typeof address !== 'string' || !isAddress(address))
        throw new ResponseError(-32602, 'obscura_fund takes one SS58 address');
      const key = encodeAddress(decodeAddress(address), 42);
      if (!funded.has(key) && funded.size >= FAUCET_MAX_ACCOUNTS)
        throw new ResponseError(-32000, 'the faucet has funded as many accounts as it may this start');
      funded.add(key);
      await fund(created, [address]);
      return true;
    };
    const server = await serveChain(created, {
      port,
      host,
      devRpc: opts.devRpc ?? false,
      extra: {
        obscura_fund: faucet,
        state_call: (params) => stateCall(created, params),
      },
    });
    const endpoint = `ws://${host.includes(':') ? `[${host}]` : host}:${server.port}`;
    let closing: Promise<void> | undefined;
    return {
      endpoint,
      close() {
        closing ??= (async () => {
          try {
            await server.close().catch(() => undefined); // no new transactions from here on
            const drain = async () => {
              while ((await created.upcomingBlocks()) > 0) {}
            };
            await withTimeout(drain(), CLOSE_TIMEOUT_MS, 'waiting for pending blocks').catch(() => undefined);
          } finally {
            await abort();
          }
        })();
        return closing;
      },
    };
  } catch (e) {
    await abort();
    if (e instanceof ObscuraError) throw e;
    throw new ObscuraError(
      'chain_start_failed',
      `embedded chain failed to start: ${errorMessage(e)}`,
      500,
      undefined,
      { cause: e },
    );
  }
}
