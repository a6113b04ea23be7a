/**
 * The node record: signed by the operator, bound to the remark's signer and to one chain,
 * and held only for its TTL. Every way a record could be passed off as someone else's, or
 * kept alive past its life, is refused here.
 */
import { describe, expect, it } from 'vitest';
import { decodeNodeRemark, encodeNodeRemarkHex } from '../../src/chain/node-remark.ts';
import {
  checkNodeRecord,
  type NodeRecord,
  nodeRecordSigningBytes,
  type SignedNodeRecord,
} from '../../src/contracts/node-record.ts';
import { accountKeyFromSuri } from '../../src/crypto/index.ts';

const chain = { genesisHash: `0x${'45'.repeat(32)}`, block1Hash: `0x${'ab'.repeat(32)}` };
const SEED_A = `0x${'11'.repeat(32)}`;
const SEED_B = `0x${'22'.repeat(32)}`;

async function signedRecord(over: Partial<NodeRecord> = {}, seed = SEED_A): Promise<SignedNodeRecord> {
  const key = await accountKeyFromSuri(seed);
  const record: NodeRecord = {
    version: 1,
    operator: key.address,
    url: 'http://127.0.0.1:8788',
    chain,
    issuedAt: 1_000_000,
    ttlMs: 3_600_000,
    workers: [
      {
        id: 'worker-1',
        tee: 'simulated',
        simulated: true,
        measurement: 'aa'.repeat(32),
        recipient: 'age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq',
        signingKey: 'bb'.repeat(32),
      },
    ],
    attestationDigest: 'cc'.repeat(32),
    ...over,
  };
  return { record, signature: key.sign(nodeRecordSigningBytes(record)) };
}

describe('node record', () => {
  it('verifies when signed by its operator, carried by its operator, on its chain, within its TTL', async () => {
    const s = await signedRecord();
    const out = checkNodeRecord(s, { now: 2_000_000, chain, remarkSigner: s.record.operator });
    expect(out.ok).toBe(true);
  });

  it('refuses a record whose URL was changed after signing (the URL is bound to the key)', async () => {
    const s = await signedRecord();
    const forged = { ...s, record: { ...s.record, url: 'http://evil.example:8788' } };
    expect(checkNodeRecord(forged, { now: 2_000_000, chain })).toMatchObject({
      ok: false,
      problem: 'signature_invalid',
    });
  });

  it("refuses another operator's record replayed in a remark someone else signed", async () => {
    const s = await signedRecord();
    const other = (await accountKeyFromSuri(SEED_B)).address;
    expect(checkNodeRecord(s, { now: 2_000_000, chain, remarkSigner: other })).toMatchObject({
      ok: false,
      problem: 'signer_mismatch',
    });
  });

  it('refuses a record meant for another chain, a stale one, and one from the future', async () => {
    const s = await signedRecord();
    const other = { ...chain, block1Hash: `0x${'cd'.repeat(32)}` };
    expect(checkNodeRecord(s, { now: 2_000_000, chain: other })).toMatchObject({ problem: 'wrong_chain' });
    expect(checkNodeRecord(s, { now: 1_000_000 + 3_600_000, chain })).toMatchObject({ problem: 'stale' });
    expect(checkNodeRecord(s, { now: 1_000_000 - 10 * 60_000, chain })).toMatchObject({
      problem: 'from_the_future',
    });
  });

  it('refuses malformed records: a trailing-slash URL, no workers, a TTL outside its bounds', async () => {
    for (const over of [
      { url: 'http://x:1/' },
      { workers: [] },
      { ttlMs: 1 },
      { ttlMs: 30 * 24 * 3_600_000 },
    ])
      expect(checkNodeRecord(await signedRecord(over), { now: 2_000_000, chain })).toMatchObject({
        problem: 'malformed',
      });
  });

  it('round-trips through its remark and ignores every other remark', async () => {
    const s = await signedRecord();
    const hex = encodeNodeRemarkHex(s);
    expect(decodeNodeRemark(Buffer.from(hex.slice(2), 'hex'))).toEqual(s);
    expect(decodeNodeRemark(Uint8Array.of(0x4f, 0x42, 0x53, 1, 0))).toBeUndefined();
    expect(decodeNodeRemark(Buffer.from('OBN\x01{not json'))).toBeUndefined();
  });
});
