/**
 * Opening a connection to a Substrate chain (embedded or real): the WebSocket provider, the
 * API over it, the chain's identity and the operator key, each step bounded and every failure
 * one 'chain_unreachable' naming the endpoint.
 */
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { ObscuraError, errorMessage } from '../common/errors.ts';
import { type ChainIdentity, ChainIdentitySchema } from './schemas.ts';
import { withTimeout } from './timeout.ts';

/** Options of ChainClient.connect. */
export interface ChainClientOptions {
  /** Secret URI of the operator key that signs anchors (sr25519); without it the client only reads and verifies. */
  operatorSuri?: string;
  /** Bound on connecting and on each anchor or verification, in ms; default 30,000. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** An open connection: what every read and submission on the chain goes through. */
export interface ChainConnection {
  readonly api: ApiPromise;
  readonly provider: WsProvider;
  readonly endpoint: string;
  /** Bound on each wait on the chain, in ms. */
  readonly timeoutMs: number;
}

/** A connection with what was learnt on opening it: the chain's fixed identity and the operator key, if any. */
export interface OpenChain extends ChainConnection {
  /** The identity without the runtime's name and version, which an upgrade may change (read them live). */
  readonly base: Omit<ChainIdentity, 'specName' | 'specVersion'>;
  readonly operator: KeyringPair | undefined;
}

/** 'chain_unreachable' (503) naming the endpoint and why. */
export function unreachable(endpoint: string, why: string, cause?: unknown): ObscuraError {
  return new ObscuraError(
    'chain_unreachable',
    `cannot reach the chain at ${endpoint}: ${why}`,
    503,
    { endpoint },
    { cause },
  );
}

/** Throws 'chain_unreachable' unless the connection is up (so a call fails at once, not at its time limit). */
export function assertConnected(chain: ChainConnection): void {
  if (!chain.api.isConnected) throw unreachable(chain.endpoint, 'not connected');
}

async function openProvider(endpoint: string, timeoutMs: number): Promise<WsProvider> {
  let provider: WsProvider;
  try {
    provider = new WsProvider(endpoint, 1_000, {}, timeoutMs);
  } catch (e) {
    throw unreachable(endpoint, errorMessage(e), e);
  }
  let offError = () => {};
  const failed = new Promise<never>((_, reject) => {
    offError = provider.on('error', (e: unknown) =>
      reject(unreachable(endpoint, 'connection refused or closed', e)),
    );
  });
  try {
    await withTimeout(Promise.race([provider.isReady, failed]), timeoutMs, `connecting to ${endpoint}`);
    return provider;
  } catch (e) {
    await provider.disconnect().catch(() => undefined);
    if (e instanceof ObscuraError && e.code === 'chain_timeout') throw unreachable(endpoint, e.message, e);
    throw e;
  } finally {
    offError();
  }
}

/**
 * Connects to `endpoint` (ws:// or wss://) and reads the chain's identity. Throws
 * 'chain_unreachable' (503) naming the endpoint, having closed whatever it opened.
 */
export async function openChain(endpoint: string, opts: ChainClientOptions = {}): Promise<OpenChain> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  await cryptoWaitReady();
  const provider = await openProvider(endpoint, timeoutMs);
  let api: ApiPromise | undefined;
  try {
    api = await withTimeout(
      ApiPromise.create({ provider, noInitWarn: true, throwOnConnect: true }),
      timeoutMs,
      `opening the API at ${endpoint}`,
    );
    const ready = api;
    const [chain, block1] = await withTimeout(
      Promise.all([ready.rpc.system.chain(), ready.rpc.chain.getBlockHash(1)]),
      timeoutMs,
      `reading the identity of ${endpoint}`,
    );
    const ss58 = ready.consts.system?.ss58Prefix;
    const ss58Prefix = ss58 ? Number(ss58.toString()) : (ready.registry.chainSS58 ?? 42);
    if (block1.isEmpty) throw unreachable(endpoint, 'the chain has no block #1 yet');
    const rv = ready.runtimeVersion;
    const parsed = ChainIdentitySchema.safeParse({
      genesisHash: ready.genesisHash.toHex(),
      block1Hash: block1.toHex(),
      chainName: chain.toString(),
      specName: rv.specName.toString(),
      specVersion: rv.specVersion.toNumber(),
      ss58Prefix,
    });
    if (!parsed.success)
      throw unreachable(
        endpoint,
        `the chain reports an unusable identity: ${parsed.error.issues[0]?.message}`,
      );
    const { specName: _n, specVersion: _v, ...base } = parsed.data;
    const operator =
      opts.operatorSuri === undefined
        ? undefined
        : new Keyring({ type: 'sr25519', ss58Format: ss58Prefix }).addFromUri(opts.operatorSuri);
    return { api: ready, provider, endpoint, timeoutMs, base, operator };
  } catch (e) {
    await (api ? api.disconnect() : provider.disconnect()).catch(() => undefined);
    if (e instanceof ObscuraError) throw e.code === 'chain_timeout' ? unreachable(endpoint, e.message, e) : e;
    throw unreachable(endpoint, errorMessage(e), e);
  }
}
