/**
 * The node registry on a real chain: organisation A runs `npm start` (embedded chain),
 * organisation B joins A's chain with its own data directory and a new operator key (funded
 * by A's chain's faucet, with no other step). Each publishes its record; `GET /v1/nodes` on
 * either lists both with fresh attestation. A record someone else carries, and a stale one,
 * do not count; a record that lies about its worker's keys does not attest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainClient } from '../../src/chain/index.ts';
import {
  type NodeRecord,
  nodeRecordSigningBytes,
  NodeStatusSchema,
} from '../../src/contracts/node-record.ts';
import { accountKeyFromSuri } from '../../src/crypto/index.ts';
import { attestNodeWorker } from '../../src/host/federation/peer-attestation.ts';
import { startTestHost } from '../helpers/host.ts';

type TestHost = Awaited<ReturnType<typeof startTestHost>>;
let a: TestHost;
let b: TestHost;

beforeAll(async () => {
  a = await startTestHost({ registerNode: true });
  b = await startTestHost({ chainEndpoint: a.host.chainEndpoint, registerNode: true });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

async function listNodes(url: string) {
  const res = await fetch(`${url}/v1/nodes`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { nodes: unknown[] };
  return body.nodes.map((n) => NodeStatusSchema.parse(n));
}

describe('node registry', () => {
  it("B joins A's chain with its own funded operator and both nodes list each other, attested now", async () => {
    expect(b.host.operatorAddress).not.toBe(a.host.operatorAddress);
    expect(b.logs.join('\n')).toContain("funded by the chain's faucet");
    for (const from of [a, b]) {
      const nodes = await listNodes(from.host.url);
      expect(nodes.map((n) => n.url).sort()).toEqual([a.host.url, b.host.url].sort());
      for (const n of nodes) {
        expect(n.status).toBe('fresh');
        expect(n.self).toBe(n.url === from.host.url);
        expect(n.workers.map((w) => w.attestation.ok)).toEqual([true]);
      }
    }
  });

  it('a record is stale after its TTL, and a record carried by another account does not count', async () => {
    const later = await b.host.registry.nodes(Date.now() + 2 * 3_600_000);
    expect(later.map((n) => n.fresh)).toEqual([false, false]);
    // A's operator really signed this record (naming another URL), but another account carries
    // it on chain: a replayed or stolen record does not move A.
    const genuineUrl = a.host.registry.url;
    a.host.registry.url = 'http://127.0.0.1:1';
    const stolen = await a.host.registry.makeRecord(Date.now() + 1000);
    a.host.registry.url = genuineUrl;
    const seed = `0x${'33'.repeat(32)}`;
    const chain = await ChainClient.connect(a.host.chainEndpoint, { operatorSuri: seed });
    try {
      await chain.requestFunds((await accountKeyFromSuri(seed)).address);
      await chain.publishNodeRecord(stolen);
      // And a record in A's name signed by the other account.
      const forger = await accountKeyFromSuri(seed);
      const lie: NodeRecord = { ...stolen.record, issuedAt: Date.now() + 2000 };
      await chain.publishNodeRecord({ record: lie, signature: forger.sign(nodeRecordSigningBytes(lie)) });
    } finally {
      await chain.close();
    }
    const nodes = await listNodes(a.host.url);
    expect(nodes.map((n) => n.url)).not.toContain('http://127.0.0.1:1');
    expect(nodes.find((n) => n.operator === a.host.operatorAddress)?.url).toBe(a.host.url);
  });

  it('a worker whose record names keys it does not hold fails the fresh attestation', async () => {
    const [aNode] = (await listNodes(b.host.url)).filter((n) => n.url === a.host.url);
    const w = aNode?.workers[0];
    expect(w).toBeDefined();
    const { attestation: _a, ...worker } = w as NonNullable<typeof w>;
    const accept = { measurements: [worker.measurement], allowSimulated: true };
    expect((await attestNodeWorker(a.host.url, worker, accept)).ok).toBe(true);
    const lied = await attestNodeWorker(a.host.url, { ...worker, signingKey: 'ee'.repeat(32) }, accept);
    expect(lied.ok).toBe(false);
    const otherCode = await attestNodeWorker(a.host.url, worker, {
      ...accept,
      measurements: ['ff'.repeat(32)],
    });
    expect(otherCode.ok).toBe(false);
    const notSimulated = await attestNodeWorker(a.host.url, worker, { ...accept, allowSimulated: false });
    expect(notSimulated.ok).toBe(false);
  });
});
