/**
 * The node registry as one host sees it: it publishes this node's record on the chain (and
 * again every third of its TTL, so peers never see it stale while the node runs), and reads
 * every node's records from the chain, keeping the newest per operator. Reading is
 * incremental (it remembers how far it scanned), so a listing reads only the new blocks.
 *
 * Nothing a node says of itself is trusted here beyond what the chain and signatures bind:
 * a record counts only when the operator's signature verifies and the operator also signed
 * the extrinsic that carries it (checkNodeRecord). Whether a node's workers run code this
 * node accepts is decided by fresh attestation (peer-attestation.ts), never by the record.
 */
import { randomBytes } from 'node:crypto';
import type { ChainClient, ChainIdentity } from '../../chain/index.ts';
import { hashJson } from '../../common/hash.ts';
import {
  checkNodeRecord,
  NODE_RECORD_TTL,
  NODE_RECORD_VERSION,
  type NodeRecord,
  NodeRecordSchema,
  nodeRecordNonce,
  nodeRecordSigningBytes,
  type SignedNodeRecord,
} from '../../contracts/node-record.ts';
import { ObscuraClient } from '../../client/client.ts';
import type { AccountKey } from '../../crypto/keys.ts';
import type { HostLog } from '../api/context.ts';
import type { WorkerPool } from '../api/workers.ts';

const FAR_FUTURE = Number.MAX_SAFE_INTEGER / 2;

/** A node as the registry knows it: its newest record, and whether that record still holds. */
export interface KnownNode {
  record: NodeRecord;
  /** The block whose remark carried the record. */
  blockNumber: number;
  fresh: boolean;
}

/** How a host takes part in the registry. */
export interface NodeRegistryOptions {
  chain: ChainClient;
  /** The operator account: signs the record and (as the chain client's signer) its remark. */
  operator: AccountKey;
  /** This node's API base URL as other nodes reach it. */
  url: string;
  workers: WorkerPool;
  /** Life of a published record; default NODE_RECORD_TTL.default (one hour). */
  ttlMs?: number;
  log: HostLog;
}

/** Publishes this node's record and reads everyone's from the chain. */
export class NodeRegistry {
  readonly #opts: NodeRegistryOptions;
  readonly #ttlMs: number;
  readonly #known = new Map<string, { record: NodeRecord; blockNumber: number }>();
  #scannedTo = 0;
  #scanning: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #chain: Pick<ChainIdentity, 'genesisHash' | 'block1Hash'> | undefined;
  #current: SignedNodeRecord | undefined;

  constructor(opts: NodeRegistryOptions) {
    this.#opts = opts;
    this.#ttlMs = opts.ttlMs ?? NODE_RECORD_TTL.default;
  }

  /** This node's operator (SS58, prefix 42). */
  get operator(): string {
    return this.#opts.operator.address;
  }

  /** This node's URL. */
  get url(): string {
    return this.#opts.url;
  }

  /** Set once the host listens (its port may be picked then); records made later carry it. */
  set url(url: string) {
    this.#opts.url = url.replace(/\/+$/, '');
  }

  async #chainId(): Promise<Pick<ChainIdentity, 'genesisHash' | 'block1Hash'>> {
    if (!this.#chain) {
      const { genesisHash, block1Hash } = await this.#opts.chain.identity();
      this.#chain = { genesisHash, block1Hash };
    }
    return this.#chain;
  }

  /** Make and sign this node's record as of now (its workers attest for the record's own nonce). */
  async makeRecord(now = Date.now()): Promise<SignedNodeRecord> {
    const operator = this.#opts.operator.address;
    const nonce = nodeRecordNonce(operator, now);
    const running = this.#opts.workers.list().filter((w) => w.status === 'running');
    const evidence = await Promise.all(
      running.map(async (w) => (await this.#opts.workers.get(w.id).request('attest', { nonce })).evidence),
    );
    const record: NodeRecord = NodeRecordSchema.parse({
      version: NODE_RECORD_VERSION,
      operator,
      url: this.#opts.url,
      chain: await this.#chainId(),
      issuedAt: now,
      ttlMs: this.#ttlMs,
      workers: running.map((w) => ({
        id: w.id,
        tee: w.tee,
        simulated: w.simulated,
        measurement: w.measurement,
        recipient: w.recipient,
        signingKey: w.signingKey,
      })),
      attestationDigest: hashJson(evidence),
    } satisfies NodeRecord);
    return { record, signature: this.#opts.operator.sign(nodeRecordSigningBytes(record)) };
  }

  /** Publish this node's record now; resolves when it is in a block. */
  async publish(): Promise<SignedNodeRecord> {
    const signed = await this.makeRecord();
    const { blockNumber } = await this.#opts.chain.publishNodeRecord(signed);
    this.#current = signed;
    this.#opts.log('info', `node record published in block #${blockNumber} (${this.#opts.url})`);
    return signed;
  }

  /** The record this node last published, if it did. */
  get current(): SignedNodeRecord | undefined {
    return this.#current;
  }

  /** A client that signs its requests to another node with this node's operator key. */
  clientFor(url: string): ObscuraClient {
    return new ObscuraClient(url, this.#opts.operator);
  }

  /** Publish now and then every third of the TTL until stop(); a failed refresh is logged and retried at the next. */
  async start(): Promise<void> {
    const refresh = () =>
      this.publish().catch((e: unknown) =>
        this.#opts.log('warn', `node record not published: ${e instanceof Error ? e.message : String(e)}`),
      );
    await refresh();
    this.#timer = setInterval(refresh, Math.max(10_000, Math.floor(this.#ttlMs / 3)));
    this.#timer.unref();
  }

  /** Stop refreshing. */
  stop(): void {
    clearInterval(this.#timer);
  }

  /** Read the blocks not read yet; one reader at a time. */
  async #scan(): Promise<void> {
    const run = this.#scanning.then(async () => {
      const chain = await this.#chainId();
      const { scannedTo, remarks } = await this.#opts.chain.nodeRemarks(this.#scannedTo + 1);
      for (const r of remarks) {
        // Freshness is judged when listing (a far-future `now` makes every record merely
        // stale); here only what makes a record the operator's own, for this chain.
        const checked = checkNodeRecord(r.signed, { now: FAR_FUTURE, chain, remarkSigner: r.signer });
        const record = checked.ok ? checked.record : checked.problem === 'stale' ? checked.record : undefined;
        if (!record) continue;
        const had = this.#known.get(record.operator);
        if (!had || had.record.issuedAt < record.issuedAt)
          this.#known.set(record.operator, { record, blockNumber: r.blockNumber });
      }
      this.#scannedTo = Math.max(this.#scannedTo, scannedTo);
    });
    this.#scanning = run.catch(() => undefined);
    await run;
  }

  /** Every node with a record on the chain, newest record each, fresh or stale at `now`. */
  async nodes(now = Date.now()): Promise<KnownNode[]> {
    await this.#scan();
    return [...this.#known.values()]
      .map(({ record, blockNumber }) => ({
        record,
        blockNumber,
        fresh: record.issuedAt + record.ttlMs > now && record.issuedAt <= now + 5 * 60_000,
      }))
      .sort((a, b) => a.record.url.localeCompare(b.record.url));
  }

  /** The newest record of `operator` (fresh or stale), or undefined when it has none on the chain. */
  async node(operator: string, now = Date.now()): Promise<KnownNode | undefined> {
    return (await this.nodes(now)).find((n) => n.record.operator === operator);
  }
}

/** A fresh nonce for asking a worker for evidence. */
export function freshNonce(): string {
  return randomBytes(32).toString('hex');
}
