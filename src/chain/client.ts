/**
 * ChainClient: a connection to a Substrate chain (embedded or real) that anchors batches of
 * records under one Merkle root in a single `system.remarkWithEvent`, returns one receipt per
 * record, and verifies receipts independently. Submissions from one client are serialised,
 * so one signer's nonces never race; every wait is bounded ('chain_timeout').
 */
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { ISubmittableResult } from '@polkadot/types/types';
import { cryptoWaitReady, encodeAddress } from '@polkadot/util-crypto';
import { z } from 'zod';
import { ObscuraError, errorMessage } from '../common/errors.ts';
import { merkleProof, merkleRoot } from './merkle.ts';
import { decodeNodeRemark, encodeNodeRemarkHex } from './node-remark.ts';
import {
  decodeLedgerRemark,
  encodeLedgerRemarkHex,
  type LedgerHead,
  type LedgerPlacement,
} from './ledger.ts';
import { type AnchorRecord, AnchorRecordSchema, encodeRemarkHex, recordLeaf } from './records.ts';
import { type AnchorCheck, type AnchorReceipt, type ChainIdentity, ChainIdentitySchema } from './schemas.ts';
import { SerialQueue, withTimeout } from './timeout.ts';
import { verifyAnchorOn } from './verify.ts';

/** Options of ChainClient.connect. */
export interface ChainClientOptions {
  /** Secret URI of the operator key that signs anchors (sr25519); without it the client only reads and verifies. */
  operatorSuri?: string;
  /** Bound on connecting and on each anchor or verification, in ms; default 30,000. */
  timeoutMs?: number;
}

/** Most records one anchor() call takes (the proof stays under 17 hashes). */
export const MAX_ANCHOR_RECORDS = 65_536;
const DEFAULT_TIMEOUT_MS = 30_000;
const RecordsSchema = z.array(AnchorRecordSchema).min(1).max(MAX_ANCHOR_RECORDS);

function unreachable(endpoint: string, why: string, cause?: unknown): ObscuraError {
  return new ObscuraError(
    'chain_unreachable',
    `cannot reach the chain at ${endpoint}: ${why}`,
    503,
    { endpoint },
    { cause },
  );
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

/** A connection to a chain that anchors and verifies Obscura records. */
export class ChainClient {
  readonly #api: ApiPromise;
  readonly #endpoint: string;
  readonly #base: Omit<ChainIdentity, 'specName' | 'specVersion'>;
  readonly #operator: KeyringPair | undefined;
  readonly #timeoutMs: number;
  readonly #queue = new SerialQueue();
  readonly #provider: WsProvider;

  private constructor(
    provider: WsProvider,
    api: ApiPromise,
    endpoint: string,
    base: Omit<ChainIdentity, 'specName' | 'specVersion'>,
    operator: KeyringPair | undefined,
    timeoutMs: number,
  ) {
    this.#provider = provider;
    this.#api = api;
    this.#endpoint = endpoint;
    this.#base = base;
    this.#operator = operator;
    this.#timeoutMs = timeoutMs;
  }

  /** Connects to `endpoint` (ws:// or wss://). Throws 'chain_unreachable' (503) naming the endpoint. */
  static async connect(endpoint: string, opts: ChainClientOptions = {}): Promise<ChainClient> {
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
      return new ChainClient(provider, ready, endpoint, base, operator, timeoutMs);
    } catch (e) {
      await (api ? api.disconnect() : provider.disconnect()).catch(() => undefined);
      if (e instanceof ObscuraError)
        throw e.code === 'chain_timeout' ? unreachable(endpoint, e.message, e) : e;
      throw unreachable(endpoint, errorMessage(e), e);
    }
  }

  /** The endpoint this client is connected to. */
  get endpoint(): string {
    return this.#endpoint;
  }

  /** SS58 address of the operator key that signs anchors; undefined for a read-only client. */
  get operatorAddress(): string | undefined {
    return this.#operator?.address;
  }

  #signer(): KeyringPair {
    if (!this.#operator)
      throw new ObscuraError(
        'operator_missing',
        'this chain client has no operator key to sign anchors with',
        500,
      );
    return this.#operator;
  }

  /** The chain's identity (with the current runtime's name and version). Never throws. */
  async identity(): Promise<ChainIdentity> {
    const rv = this.#api.runtimeVersion;
    return { ...this.#base, specName: rv.specName.toString(), specVersion: rv.specVersion.toNumber() };
  }

  /**
   * Anchors `records` under one Merkle root in one remark signed by the operator; resolves
   * when it is in a block with one receipt per record, in order. Throws 'anchor_invalid' (400),
   * 'chain_anchor_failed' (502), 'chain_timeout' (503) or 'chain_unreachable' (503).
   */
  async anchor(records: AnchorRecord[]): Promise<AnchorReceipt[]> {
    const parsed = RecordsSchema.safeParse(records);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ObscuraError(
        'anchor_invalid',
        `invalid anchor records: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
        400,
      );
    }
    const signer = this.#signer();
    const leaves = parsed.data.map(recordLeaf);
    const root = merkleRoot(leaves);
    const remark = encodeRemarkHex({ recordCount: leaves.length, root });
    const placed = await this.#queue.run(() => this.#submit(remark));
    const chain = await this.identity();
    return leaves.map((_, leafIndex) => ({
      chain,
      blockHash: placed.blockHash,
      blockNumber: placed.blockNumber,
      extrinsicIndex: placed.extrinsicIndex,
      signer: signer.address,
      root,
      leafIndex,
      proof: merkleProof(leaves, leafIndex).siblings,
      recordCount: leaves.length,
    }));
  }

  /**
   * Places a ledger head (ledger.ts) on chain in its own remark; resolves when it is in a
   * block. Throws like anchor().
   */
  async anchorLedgerHead(head: LedgerHead): Promise<LedgerPlacement> {
    this.#signer();
    const remark = encodeLedgerRemarkHex(head);
    const placed = await this.#queue.run(() => this.#submit(remark));
    return { head, ...placed };
  }

  /** Number of the newest block. Throws 'chain_unreachable' or 'chain_timeout'. */
  async headNumber(): Promise<number> {
    if (!this.#api.isConnected) throw unreachable(this.#endpoint, 'not connected');
    const header = await withTimeout(
      this.#api.rpc.chain.getHeader(),
      this.#timeoutMs,
      'reading the chain head',
    );
    return header.number.toNumber();
  }

  /**
   * The ledger heads of `worker` (hex Ed25519 key) in canonical blocks `from`..`to`
   * (inclusive, `to` default the head), in chain order. Reads every block of the range, so
   * callers keep the range short by remembering how far they have scanned.
   */
  async ledgerHeads(
    worker: string,
    from: number,
    to?: number,
  ): Promise<{ scannedTo: number; heads: LedgerPlacement[] }> {
    const heads: LedgerPlacement[] = [];
    const scannedTo = await this.#scanRemarks(from, to, (bytes, r) => {
      const head = decodeLedgerRemark(bytes);
      if (head && head.worker === worker)
        heads.push({
          head,
          blockHash: r.blockHash,
          blockNumber: r.blockNumber,
          extrinsicIndex: r.extrinsicIndex,
        });
    });
    return { scannedTo, heads };
  }

  /**
   * The node-record remarks (node-remark.ts) in canonical blocks `from`..`to`, in chain
   * order, each with the SS58 address (prefix 42) of the account that signed its extrinsic.
   * The records are untrusted JSON: check them with checkNodeRecord.
   */
  async nodeRemarks(
    from: number,
    to?: number,
  ): Promise<{ scannedTo: number; remarks: { signed: unknown; signer: string; blockNumber: number }[] }> {
    const remarks: { signed: unknown; signer: string; blockNumber: number }[] = [];
    const scannedTo = await this.#scanRemarks(from, to, (bytes, r) => {
      const signed = decodeNodeRemark(bytes);
      if (signed !== undefined && r.signer)
        remarks.push({ signed, signer: r.signer, blockNumber: r.blockNumber });
    });
    return { scannedTo, remarks };
  }

  /** Publishes a signed node record in its own remark, signed by the operator; resolves when it is in a block. Throws like anchor(). */
  async publishNodeRecord(signedRecord: unknown): Promise<{ blockNumber: number }> {
    this.#signer();
    const remark = encodeNodeRemarkHex(signedRecord);
    const placed = await this.#queue.run(() => this.#submit(remark));
    return { blockNumber: placed.blockNumber };
  }

  /** The free balance (planck) of `address`. Throws 'chain_unreachable' or 'chain_timeout'. */
  async freeBalance(address: string): Promise<bigint> {
    if (!this.#api.isConnected) throw unreachable(this.#endpoint, 'not connected');
    const account = (await withTimeout(
      this.#api.query.system!.account!(address),
      this.#timeoutMs,
      'reading a balance',
    )) as unknown as { data: { free: { toBigInt(): bigint } } };
    return account.data.free.toBigInt();
  }

  /**
   * Asks the chain's faucet to fund `address` (the embedded chain's `obscura_fund` RPC;
   * other chains have none). Throws 'chain_faucet_unavailable' (503) where there is none.
   */
  async requestFunds(address: string): Promise<void> {
    try {
      await withTimeout(this.#provider.send('obscura_fund', [address]), this.#timeoutMs, 'asking the faucet');
    } catch (e) {
      throw new ObscuraError(
        'chain_faucet_unavailable',
        `the chain at ${this.#endpoint} funds no account on request (${errorMessage(e)}): send funds to ${address} yourself`,
        503,
        { address },
        { cause: e },
      );
    }
  }

  /** Calls `visit` with every remark's bytes in canonical blocks `from`..`to` (default the head); returns the last block read. */
  async #scanRemarks(
    from: number,
    to: number | undefined,
    visit: (
      bytes: Uint8Array,
      where: { blockHash: string; blockNumber: number; extrinsicIndex: number; signer?: string },
    ) => void,
  ): Promise<number> {
    const api = this.#api;
    const last = to ?? (await this.headNumber());
    for (let n = Math.max(1, from); n <= last; n++) {
      const blockHash = await withTimeout(
        api.rpc.chain.getBlockHash(n),
        this.#timeoutMs,
        `reading block #${n}`,
      );
      const signed = await withTimeout(
        api.rpc.chain.getBlock(blockHash),
        this.#timeoutMs,
        `reading block #${n}`,
      );
      signed.block.extrinsics.forEach((ex, extrinsicIndex) => {
        if (ex.method.section !== 'system' || !['remarkWithEvent', 'remark'].includes(ex.method.method))
          return;
        const arg = ex.method.args[0];
        if (!arg) return;
        const key = ex.isSigned ? ex.signer.toU8a(true) : undefined;
        const signer = key?.length === 32 ? encodeAddress(key, 42) : undefined;
        visit(arg.toU8a(true), {
          blockHash: blockHash.toHex(),
          blockNumber: n,
          extrinsicIndex,
          ...(signer ? { signer } : {}),
        });
      });
    }
    return last;
  }

  /** True when `placement` is on the canonical chain exactly as stated. Throws only when the chain is unreachable. */
  async hasLedgerHead(placement: LedgerPlacement): Promise<boolean> {
    const canonical = await withTimeout(
      this.#api.rpc.chain.getBlockHash(placement.blockNumber),
      this.#timeoutMs,
      'reading a block hash',
    );
    if (canonical.toHex() !== placement.blockHash) return false;
    const found = await this.ledgerHeads(placement.head.worker, placement.blockNumber, placement.blockNumber);
    return found.heads.some(
      (h) =>
        h.extrinsicIndex === placement.extrinsicIndex &&
        h.head.seq === placement.head.seq &&
        h.head.entry === placement.head.entry,
    );
  }

  async #submit(remark: string): Promise<{ blockHash: string; blockNumber: number; extrinsicIndex: number }> {
    const api = this.#api;
    if (!api.isConnected) throw unreachable(this.#endpoint, 'not connected');
    // Pallets come from runtime metadata, so the types are an index; every Substrate runtime has system.
    const tx = api.tx.system!.remarkWithEvent!(remark);
    let unsub: (() => void) | undefined;
    let finished = false;
    const inBlock = new Promise<ISubmittableResult>((resolve, reject) => {
      tx.signAndSend(this.#signer(), { nonce: -1 }, (result) => {
        const { status } = result;
        if (status.isInBlock || status.isFinalized) resolve(result);
        else if (status.isInvalid || status.isDropped || status.isUsurped || status.isFinalityTimeout) {
          reject(
            new ObscuraError(
              'chain_anchor_failed',
              `the anchor transaction was ${status.type.toLowerCase()}`,
              502,
            ),
          );
        }
      })
        .then((u) => {
          if (finished) u();
          else unsub = u;
        })
        .catch((e: unknown) => {
          if (!api.isConnected) reject(unreachable(this.#endpoint, 'connection lost while submitting', e));
          else
            reject(
              new ObscuraError(
                'chain_anchor_failed',
                `the chain refused the anchor transaction: ${errorMessage(e)}`,
                502,
                undefined,
                { cause: e },
              ),
            );
        });
    });
    try {
      const result = await withTimeout(
        inBlock,
        this.#timeoutMs,
        'waiting for the anchor to be included in a block',
      );
      if (result.dispatchError) {
        const err = result.dispatchError;
        const why = err.isModule
          ? (({ section, name }) => `${section}.${name}`)(api.registry.findMetaError(err.asModule))
          : err.toString();
        throw new ObscuraError('chain_anchor_failed', `the anchor extrinsic failed: ${why}`, 502);
      }
      const blockHash = (
        result.status.isInBlock ? result.status.asInBlock : result.status.asFinalized
      ).toHex();
      const signed = await withTimeout(
        api.rpc.chain.getBlock(blockHash),
        this.#timeoutMs,
        'reading the anchor block',
      );
      const extrinsicIndex = signed.block.extrinsics.findIndex((ex) => ex.hash.eq(result.txHash));
      if (extrinsicIndex < 0)
        throw new ObscuraError(
          'chain_anchor_failed',
          `the anchor extrinsic is missing from block ${blockHash}`,
          502,
        );
      return { blockHash, blockNumber: signed.block.header.number.toNumber(), extrinsicIndex };
    } finally {
      finished = true;
      unsub?.();
    }
  }

  /**
   * Checks `record` against `receipt` (both untrusted) on this chain. Never throws for a
   * failed check; throws 'chain_unreachable' (503) or 'chain_timeout' (503) only.
   */
  async verifyAnchor(receipt: AnchorReceipt, record: AnchorRecord): Promise<AnchorCheck> {
    if (!this.#api.isConnected) throw unreachable(this.#endpoint, 'not connected');
    const current = await this.identity();
    return withTimeout(
      verifyAnchorOn(this.#api, current, this.#endpoint, receipt, record),
      this.#timeoutMs,
      'verifying an anchor',
    );
  }

  /** Disconnects. Idempotent; never throws. */
  async close(): Promise<void> {
    await this.#api.disconnect().catch(() => undefined);
  }
}
