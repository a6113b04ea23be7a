/**
 * ChainClient: a connection to a Substrate chain (embedded or real) that anchors batches of
 * records under one Merkle root in a single `system.remarkWithEvent`, returns one receipt per
 * record, and verifies receipts independently. Submissions from one client are serialised,
 * so one signer's nonces never race; every wait is bounded ('chain_timeout').
 *
 * This file is the client's surface; the work is one concept a file: connection.ts (opening,
 * identity), submit.ts (a signed remark into a block), scan.ts (reading remarks back),
 * verify.ts (checking a receipt), and the remark formats (records.ts, ledger.ts,
 * node-remark.ts).
 */
import type { KeyringPair } from '@polkadot/keyring/types';
import { z } from 'zod';
import { ObscuraError, errorMessage } from '../common/errors.ts';
import { assertConnected, type OpenChain, openChain, type ChainClientOptions } from './connection.ts';
import {
  decodeLedgerRemark,
  encodeLedgerRemarkHex,
  type LedgerHead,
  type LedgerPlacement,
} from './ledger.ts';
import { merkleProof, merkleRoot } from './merkle.ts';
import { decodeNodeRemark, encodeNodeRemarkHex } from './node-remark.ts';
import { type AnchorRecord, AnchorRecordSchema, encodeRemarkHex, recordLeaf } from './records.ts';
import { headNumber, scanRemarks } from './scan.ts';
import type { AnchorCheck, AnchorReceipt, ChainIdentity } from './schemas.ts';
import { submitRemark } from './submit.ts';
import { SerialQueue, withTimeout } from './timeout.ts';
import { verifyAnchorOn } from './verify.ts';

export type { ChainClientOptions } from './connection.ts';

/** Most records one anchor() call takes (the proof stays under 17 hashes). */
export const MAX_ANCHOR_RECORDS = 65_536;
const RecordsSchema = z.array(AnchorRecordSchema).min(1).max(MAX_ANCHOR_RECORDS);

/** A connection to a chain that anchors and verifies Obscura records. */
export class ChainClient {
  readonly #chain: OpenChain;
  readonly #queue = new SerialQueue();

  private constructor(chain: OpenChain) {
    this.#chain = chain;
  }

  /** Connects to `endpoint` (ws:// or wss://). Throws 'chain_unreachable' (503) naming the endpoint. */
  static async connect(endpoint: string, opts: ChainClientOptions = {}): Promise<ChainClient> {
    return new ChainClient(await openChain(endpoint, opts));
  }

  /** The endpoint this client is connected to. */
  get endpoint(): string {
    return this.#chain.endpoint;
  }

  /** SS58 address of the operator key that signs anchors; undefined for a read-only client. */
  get operatorAddress(): string | undefined {
    return this.#chain.operator?.address;
  }

  #signer(): KeyringPair {
    if (!this.#chain.operator)
      throw new ObscuraError(
        'operator_missing',
        'this chain client has no operator key to sign anchors with',
        500,
      );
    return this.#chain.operator;
  }

  /** Submits `remark` signed by `signer`, after every earlier submission of this client. */
  #submit(signer: KeyringPair, remark: string) {
    return this.#queue.run(() => submitRemark(this.#chain, signer, remark));
  }

  /** The chain's identity (with the current runtime's name and version). Never throws. */
  async identity(): Promise<ChainIdentity> {
    const rv = this.#chain.api.runtimeVersion;
    return { ...this.#chain.base, specName: rv.specName.toString(), specVersion: rv.specVersion.toNumber() };
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
    const placed = await this.#submit(signer, remark);
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
    const placed = await this.#submit(this.#signer(), encodeLedgerRemarkHex(head));
    return { head, ...placed };
  }

  /** Number of the newest block. Throws 'chain_unreachable' or 'chain_timeout'. */
  async headNumber(): Promise<number> {
    return headNumber(this.#chain);
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
    const scannedTo = await scanRemarks(this.#chain, from, to, (bytes, r) => {
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

  /** True when `placement` is on the canonical chain exactly as stated. Throws only when the chain is unreachable. */
  async hasLedgerHead(placement: LedgerPlacement): Promise<boolean> {
    const canonical = await withTimeout(
      this.#chain.api.rpc.chain.getBlockHash(placement.blockNumber),
      this.#chain.timeoutMs,
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
    const scannedTo = await scanRemarks(this.#chain, from, to, (bytes, r) => {
      const signed = decodeNodeRemark(bytes);
      if (signed !== undefined && r.signer)
        remarks.push({ signed, signer: r.signer, blockNumber: r.blockNumber });
    });
    return { scannedTo, remarks };
  }

  /** Publishes a signed node record in its own remark, signed by the operator; resolves when it is in a block. Throws like anchor(). */
  async publishNodeRecord(signedRecord: unknown): Promise<{ blockNumber: number }> {
    const signer = this.#signer();
    const placed = await this.#submit(signer, encodeNodeRemarkHex(signedRecord));
    return { blockNumber: placed.blockNumber };
  }

  /** The free balance (planck) of `address`. Throws 'chain_unreachable' or 'chain_timeout'. */
  async freeBalance(address: string): Promise<bigint> {
    assertConnected(this.#chain);
    const account = (await withTimeout(
      this.#chain.api.query.system!.account!(address),
      this.#chain.timeoutMs,
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
      await withTimeout(
        this.#chain.provider.send('obscura_fund', [address]),
        this.#chain.timeoutMs,
        'asking the faucet',
      );
    } catch (e) {
      throw new ObscuraError(
        'chain_faucet_unavailable',
        `the chain at ${this.#chain.endpoint} funds no account on request (${errorMessage(e)}): send funds to ${address} yourself`,
        503,
        { address },
        { cause: e },
      );
    }
  }

  /**
   * Checks `record` against `receipt` (both untrusted) on this chain. Never throws for a
   * failed check; throws 'chain_unreachable' (503) or 'chain_timeout' (503) only.
   */
  async verifyAnchor(receipt: AnchorReceipt, record: AnchorRecord): Promise<AnchorCheck> {
    assertConnected(this.#chain);
    const current = await this.identity();
    return withTimeout(
      verifyAnchorOn(this.#chain.api, current, this.#chain.endpoint, receipt, record),
      this.#chain.timeoutMs,
      'verifying an anchor',
    );
  }

  /** Disconnects. Idempotent; never throws. */
  async close(): Promise<void> {
    await this.#chain.api.disconnect().catch(() => undefined);
  }
}
