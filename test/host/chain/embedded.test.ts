/**
 * Against the real embedded chain (chopsticks running the rococo asset hub runtime, served
 * over WebSocket on a free port in a temp dir): anchoring a batch in one extrinsic, verifying
 * each record, every forged receipt failing on the right check, serialised submissions,
 * port-in-use and unreachable errors, dev RPCs refused, and persistence across a restart
 * (a faucet-funded account keeps its funds, and the faucet funds new accounts after it).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { u8aToHex } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';
import { WebSocket } from 'ws';
import {
  ANCHOR_CHECK_NAMES,
  type AnchorCheck,
  type AnchorReceipt,
  type AnchorRecord,
  AnchorReceiptSchema,
  ChainClient,
} from '../../../src/chain/index.ts';
import { accountKeyFromSuri } from '../../../src/crypto/index.ts';
import {
  type EmbeddedChain,
  loadOrCreateOperatorKey,
  startEmbeddedChain,
} from '../../../src/host/chain/index.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const failed = (c: AnchorCheck) => c.checks.filter((x) => !x.ok).map((x) => x.name);
const records: AnchorRecord[] = [
  { kind: 'result', hash: sha('result-1') },
  { kind: 'dataset', hash: sha('dataset-1') },
  { kind: 'budget', hash: sha('budget-1') },
];

function dbBytes(dir: string): number {
  let total = 0;
  for (const f of ['chain.sqlite', 'chain.sqlite-wal']) {
    try {
      total += statSync(join(dir, f)).size;
    } catch {
      // absent after a checkpoint
    }
  }
  return total;
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'obscura-chain-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('embedded chain', () => {
  let chain: EmbeddedChain;
  let client: ChainClient;
  let receipts: AnchorReceipt[];
  let dir: string;

  beforeAll(async () => {
    const t0 = Date.now();
    dir = tempDir();
    // The data directory's own operator account, funded by the chain at start (as a host does).
    const op = await loadOrCreateOperatorKey(dir);
    chain = await startEmbeddedChain({ dataDir: dir, port: 0, fundAccounts: [op.address] });
    console.info(`embedded chain started in ${Date.now() - t0} ms at ${chain.endpoint}`);
    client = await ChainClient.connect(chain.endpoint, { operatorSuri: op.suri });
  });
  afterAll(async () => {
    await client?.close();
    await chain?.close();
  });

  it('reports its identity', async () => {
    const id = await client.identity();
    expect(id.chainName).toBe('Obscura Local');
    expect(id.specName).toBe('statemine');
    expect(id.ss58Prefix).toBe(2);
    expect(id.genesisHash).toBe(`0x${'45'.repeat(32)}`);
    expect(id.block1Hash).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('anchors 3 records in one extrinsic and verifies each', async () => {
    receipts = await client.anchor(records);
    expect(receipts).toHaveLength(3);
    const [first] = receipts as [AnchorReceipt];
    for (const [i, r] of receipts.entries()) {
      expect(AnchorReceiptSchema.parse(JSON.parse(JSON.stringify(r)))).toEqual(r);
      expect(r).toMatchObject({
        blockHash: first.blockHash,
        extrinsicIndex: first.extrinsicIndex,
        root: first.root,
        leafIndex: i,
        recordCount: 3,
      });
      expect(r.signer).toBe(client.operatorAddress);
      const check = await client.verifyAnchor(r, records[i] as AnchorRecord);
      expect(failed(check)).toEqual([]);
      expect(check.ok).toBe(true);
      expect(check.checks.map((c) => c.name)).toEqual([...ANCHOR_CHECK_NAMES]);
    }
  });

  it('fails the merkle check for a wrong record hash or kind', async () => {
    const r = receipts[0] as AnchorReceipt;
    const wrongHash = await client.verifyAnchor(r, { kind: 'result', hash: sha('something else') });
    expect(wrongHash.ok).toBe(false);
    expect(failed(wrongHash)).toEqual(['merkle']);
    const wrongKind = await client.verifyAnchor(r, { ...(records[0] as AnchorRecord), kind: 'dataset' });
    expect(failed(wrongKind)).toEqual(['merkle']);
    const otherLeaf = await client.verifyAnchor(r, records[1] as AnchorRecord);
    expect(failed(otherLeaf)).toEqual(['merkle']);
  });

  it('fails the extrinsic check for a wrong extrinsic index', async () => {
    const r = receipts[0] as AnchorReceipt;
    const inherent = await client.verifyAnchor({ ...r, extrinsicIndex: 0 }, records[0] as AnchorRecord);
    expect(inherent.ok).toBe(false);
    expect(failed(inherent)).toEqual(['extrinsic']);
    expect(inherent.checks.find((c) => c.name === 'extrinsic')?.detail).toMatch(
      /timestamp\.set|parachainSystem/,
    );
    const missing = await client.verifyAnchor({ ...r, extrinsicIndex: 99 }, records[0] as AnchorRecord);
    expect(failed(missing)).toEqual(['extrinsic']);
  });

  it('fails the merkle check for a forged proof', async () => {
    const r = receipts[0] as AnchorReceipt;
    const flipped = (r.proof[0] as string).replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const forged = await client.verifyAnchor(
      { ...r, proof: [flipped, ...r.proof.slice(1)] },
      records[0] as AnchorRecord,
    );
    expect(failed(forged)).toEqual(['merkle']);
    const short = await client.verifyAnchor({ ...r, proof: r.proof.slice(1) }, records[0] as AnchorRecord);
    expect(failed(short)).toEqual(['merkle']);
    // A receipt claiming a root of its own (a forged tree) fails against the on-chain remark.
    const ownRoot = await client.verifyAnchor(
      { ...r, root: sha('forged root'), recordCount: 1, proof: [], leafIndex: 0 },
      records[0] as AnchorRecord,
    );
    expect(failed(ownRoot)).toEqual(expect.arrayContaining(['remark']));
    expect(ownRoot.ok).toBe(false);
  });

  it('fails the chain check for a receipt naming another chain', async () => {
    const r = receipts[0] as AnchorReceipt;
    const other = await client.verifyAnchor(
      { ...r, chain: { ...r.chain, block1Hash: `0x${'ab'.repeat(32)}` } },
      records[0] as AnchorRecord,
    );
    expect(other.ok).toBe(false);
    expect(failed(other)).toEqual(['chain']);
    const otherGenesis = await client.verifyAnchor(
      { ...r, chain: { ...r.chain, genesisHash: `0x${'01'.repeat(32)}` } },
      records[0] as AnchorRecord,
    );
    expect(failed(otherGenesis)).toEqual(['chain']);
  });

  it('fails block, canonical, signer and receipt checks when those are forged', async () => {
    const r = receipts[0] as AnchorReceipt;
    const rec = records[0] as AnchorRecord;
    expect(failed(await client.verifyAnchor({ ...r, blockHash: `0x${'77'.repeat(32)}` }, rec))).toEqual([
      'block',
    ]);
    expect(failed(await client.verifyAnchor({ ...r, blockNumber: r.blockNumber + 1 }, rec))).toEqual([
      'block',
    ]);
    const bob = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';
    expect(failed(await client.verifyAnchor({ ...r, signer: bob }, rec))).toEqual(['signer']);
    const malformed = await client.verifyAnchor({ ...r, root: 'not hex' } as AnchorReceipt, rec);
    expect(malformed).toMatchObject({ ok: false, checks: [{ name: 'receipt', ok: false }] });
    // Asking for those unknown blocks changed nothing: a client connecting now reads the same
    // genesis (chopsticks' upstream once answered the unknown hash with the genesis header,
    // which then stood as block #0 for every later client, whose transactions failed badProof).
    const fresh = await ChainClient.connect(chain.endpoint);
    try {
      expect(await fresh.identity()).toEqual(await client.identity());
    } finally {
      await fresh.close();
    }
  });

  it('serialises concurrent anchors from one client (no nonce race)', async () => {
    const batches = [0, 1, 2].map((n) => [{ kind: 'worker' as const, hash: sha(`worker-${n}`) }]);
    const all = await Promise.all(batches.map((b) => client.anchor(b)));
    const blocks = all.map((rs) => (rs[0] as AnchorReceipt).blockNumber);
    expect(new Set(blocks).size).toBe(3);
    for (const [n, rs] of all.entries()) {
      expect((await client.verifyAnchor(rs[0] as AnchorReceipt, batches[n]?.[0] as AnchorRecord)).ok).toBe(
        true,
      );
    }
  });

  it("answers the account nonce from storage as the runtime's AccountNonceApi does, at the head and at an older block", async () => {
    const rpc = async (method: string, params: unknown[]) => {
      const reply = (await (
        await fetch(chain.endpoint.replace(/^ws:/, 'http:'), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: 1, jsonrpc: '2.0', method, params }),
        })
      ).json()) as { result?: unknown; error?: unknown };
      if (reply.error) throw new Error(JSON.stringify(reply.error));
      return reply.result;
    };
    // SCALE: the nonce is a little-endian u32; the account a raw 32-byte id.
    const nonce = (hex: unknown) => Buffer.from(String(hex).slice(2), 'hex').readUInt32LE(0);
    const operator = u8aToHex(decodeAddress(client.operatorAddress as string));
    const stranger = u8aToHex(decodeAddress((await accountKeyFromSuri('//NobodyAtAll')).address));
    const headNonce = nonce(await rpc('state_call', ['AccountNonceApi_account_nonce', operator]));
    // system_accountNextIndex still runs the runtime's AccountNonceApi (chopsticks), with nothing pending.
    expect(headNonce).toBe(await rpc('system_accountNextIndex', [client.operatorAddress]));
    expect(headNonce).toBeGreaterThanOrEqual(4);
    const first = receipts[0] as AnchorReceipt;
    const before = nonce(
      await rpc('state_call', ['AccountNonceApi_account_nonce', operator, first.blockHash]),
    );
    expect(before).toBeLessThan(headNonce);
    expect(nonce(await rpc('state_call', ['AccountNonceApi_account_nonce', stranger]))).toBe(0);
    // Any other runtime call still runs the runtime.
    expect(String(await rpc('state_call', ['Core_version', '0x']))).toMatch(/^0x[0-9a-f]+$/);
  });

  it('refuses an invalid batch before touching the chain', async () => {
    await expect(client.anchor([])).rejects.toMatchObject({ code: 'anchor_invalid' });
    await expect(client.anchor([{ kind: 'result', hash: 'XYZ' }])).rejects.toMatchObject({
      code: 'anchor_invalid',
    });
  });

  it('refuses a port in use, naming it', async () => {
    const port = Number(new URL(chain.endpoint).port);
    const err = await startEmbeddedChain({ dataDir: tempDir(), port }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'chain_port_in_use' });
    expect(String((err as Error).message)).toContain(String(port));
  });

  it('answers JSON-RPC over WebSocket and HTTP POST, refusing dev RPCs on both', async () => {
    const http = chain.endpoint.replace(/^ws:/, 'http:');
    const post = async (method: string) =>
      (await (
        await fetch(http, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: 1, jsonrpc: '2.0', method, params: [] }),
        })
      ).json()) as { result?: unknown; error?: { code: number; message: string } };
    expect((await post('system_chain')).result).toBe('Obscura Local');
    // dev_newBlock would let any local process build (or, with dev_setHead, rewrite) history.
    expect((await post('dev_newBlock')).error).toMatchObject({ code: -32601 });
    const ws = new WebSocket(chain.endpoint);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const reply = new Promise<{ error?: { code: number; message: string } }>((resolve) => {
      ws.once('message', (m) => resolve(JSON.parse(String(m))));
    });
    ws.send(JSON.stringify({ id: 2, jsonrpc: '2.0', method: 'dev_setHead', params: [1] }));
    expect((await reply).error).toMatchObject({ code: -32601, message: expect.stringContaining('disabled') });
    ws.close();
  });

  it('reports an unreachable endpoint, naming it', async () => {
    const endpoint = 'ws://127.0.0.1:9';
    const err = await ChainClient.connect(endpoint, { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'chain_unreachable', status: 503 });
    expect(String((err as Error).message)).toContain(endpoint);
  });

  // Runs last: restarts the chain above on the same data directory.
  it("resumes from disk: old anchors verify, new anchors succeed, the faucet's funds stay and it funds anew, the file stays small", async () => {
    const id1 = await client.identity();
    const old = receipts;
    // Another organisation's node joins: the faucet funds its operator, which pays for an anchor.
    const joinerSuri = `0x${'e1'.repeat(32)}`;
    const joiner = await accountKeyFromSuri(joinerSuri);
    await client.requestFunds(joiner.address);
    let joined = await ChainClient.connect(chain.endpoint, { operatorSuri: joinerSuri });
    await joined.anchor([{ kind: 'result', hash: sha('joiner before the restart') }]);
    const joinerBalance = await joined.freeBalance(joiner.address);
    expect(joinerBalance).toBeGreaterThan(10n ** 17n);
    await joined.close();
    await chain.close();
    await new Promise((r) => setTimeout(r, 300));
    // close() drops open WebSocket connections: a connected client learns the chain is gone.
    await expect(client.anchor([{ kind: 'result', hash: sha('too late') }])).rejects.toMatchObject({
      code: 'chain_unreachable',
    });
    await expect(
      client.verifyAnchor(old[0] as AnchorReceipt, records[0] as AnchorRecord),
    ).rejects.toMatchObject({ code: 'chain_unreachable' });
    await client.close();
    const sizeBefore = dbBytes(dir);

    const t0 = Date.now();
    const op = await loadOrCreateOperatorKey(dir);
    chain = await startEmbeddedChain({ dataDir: dir, port: 0, fundAccounts: [op.address] });
    console.info(`embedded chain resumed in ${Date.now() - t0} ms`);
    client = await ChainClient.connect(chain.endpoint, { operatorSuri: op.suri });
    expect(await client.identity()).toEqual(id1); // block #1 was not rebuilt
    for (const [i, r] of old.entries())
      expect(failed(await client.verifyAnchor(r, records[i] as AnchorRecord))).toEqual([]);
    const head = (await client.anchor([{ kind: 'result', hash: sha('after-restart') }]))[0] as AnchorReceipt; // a rebuilt #1 would fail: 1010 badProof
    // The joiner's funds outlived the restart (it need not ask again) and it still pays; a node
    // joining after the restart is funded by the restarted faucet and pays too.
    joined = await ChainClient.connect(chain.endpoint, { operatorSuri: joinerSuri });
    expect(await joined.freeBalance(joiner.address)).toBe(joinerBalance);
    expect((await joined.anchor([{ kind: 'result', hash: sha('joiner after') }]))[0]?.blockNumber).toBe(
      head.blockNumber + 1,
    );
    await joined.close();
    const lateSuri = `0x${'e2'.repeat(32)}`;
    const late = await accountKeyFromSuri(lateSuri);
    expect(await client.freeBalance(late.address)).toBe(0n);
    await client.requestFunds(late.address);
    joined = await ChainClient.connect(chain.endpoint, { operatorSuri: lateSuri });
    expect((await joined.anchor([{ kind: 'result', hash: sha('late joiner') }]))[0]?.blockNumber).toBe(
      head.blockNumber + 2,
    );
    await joined.close();
    const blocks = 3;
    for (let n = 0; n < blocks; n++) {
      const rec: AnchorRecord = { kind: 'result', hash: sha(`after-restart-${n}`) };
      const [r] = await client.anchor([rec]);
      expect((await client.verifyAnchor(r as AnchorReceipt, rec)).ok).toBe(true);
      expect(r?.blockNumber).toBe(head.blockNumber + n + 3);
    }
    await client.close();
    await chain.close();
    const perBlock = (dbBytes(dir) - sizeBefore) / (blocks + 3);
    console.info(
      `database: ${sizeBefore} bytes before the restart (#${head.blockNumber - 1}), ~${Math.round(perBlock)} bytes per later block`,
    );
    expect(sizeBefore).toBeLessThan(1_000_000); // no copy of the 1.2 MB runtime
    expect(perBlock).toBeLessThan(100_000); // ~1.2 MB a block if the runtime code were saved with each
  });
});
