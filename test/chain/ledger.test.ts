/**
 * Ledger heads (remark version 2): the byte format and its refusals, and against the real
 * embedded chain, placing heads, finding a worker's heads by scanning blocks (and only
 * that worker's), and checking a placement.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChainClient,
  decodeLedgerRemark,
  encodeLedgerRemarkHex,
  LEDGER_REMARK_LENGTH,
} from '../../src/chain/index.ts';
import { loadOrCreateOperatorKey } from '../../src/host/chain/index.ts';
import { workerChain } from '../helpers/worker-chain.ts';

const W1 = '11'.repeat(32);
const W2 = '22'.repeat(32);
const E = (n: number) => n.toString(16).padStart(2, '0').repeat(32);
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex.slice(2), 'hex'));

describe('ledger remark format', () => {
  it('encodes magic, version 2, worker, u64 big-endian seq and entry hash', () => {
    const hex = encodeLedgerRemarkHex({ worker: W1, seq: 258, entry: E(3) });
    expect(hex).toBe(`0x4f425302${W1}0000000000000102${E(3)}`);
    expect(bytes(hex).length).toBe(LEDGER_REMARK_LENGTH);
    expect(decodeLedgerRemark(bytes(hex))).toEqual({ worker: W1, seq: 258, entry: E(3) });
  });
  it('refuses bad heads and ignores other remarks', () => {
    expect(() => encodeLedgerRemarkHex({ worker: W1, seq: 0, entry: E(1) })).toThrow(/invalid ledger head/);
    expect(() => encodeLedgerRemarkHex({ worker: 'xy', seq: 1, entry: E(1) })).toThrow(/invalid ledger head/);
    const good = bytes(encodeLedgerRemarkHex({ worker: W1, seq: 1, entry: E(1) }));
    expect(decodeLedgerRemark(good.subarray(0, 75))).toBeUndefined();
    const v1 = Uint8Array.from(good);
    v1[3] = 1;
    expect(decodeLedgerRemark(v1)).toBeUndefined();
    const zero = Uint8Array.from(good);
    zero.fill(0, 36, 44);
    expect(decodeLedgerRemark(zero)).toBeUndefined();
  });
});

describe('ledger heads on the embedded chain', () => {
  const dir = mkdtempSync(join(tmpdir(), 'obscura-ledger-'));
  let client: ChainClient;
  beforeAll(async () => {
    // The worker's chain (worker-chain.ts): this file's operator is one more account on it.
    const op = await loadOrCreateOperatorKey(dir);
    client = await ChainClient.connect((await workerChain()).endpoint, { operatorSuri: op.suri });
    await client.requestFunds(op.address);
  });
  afterAll(async () => {
    await client?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("places heads and finds exactly one worker's by scanning", async () => {
    const start = await client.headNumber();
    const a = await client.anchorLedgerHead({ worker: W1, seq: 1, entry: E(1) });
    await client.anchor([{ kind: 'result', hash: E(9) }]);
    await client.anchorLedgerHead({ worker: W2, seq: 1, entry: E(2) });
    const b = await client.anchorLedgerHead({ worker: W1, seq: 2, entry: E(3) });
    const found = await client.ledgerHeads(W1, start + 1);
    expect(found.heads).toEqual([a, b]);
    expect(found.scannedTo).toBe(b.blockNumber);
    expect((await client.ledgerHeads(W1, b.blockNumber + 1)).heads).toEqual([]);
    expect(await client.hasLedgerHead(b)).toBe(true);
    expect(await client.hasLedgerHead({ ...b, head: { ...b.head, entry: E(7) } })).toBe(false);
    expect(await client.hasLedgerHead({ ...b, blockNumber: a.blockNumber })).toBe(false);
  }, 60_000);
});
