/**
 * Nodes of several organisations, on a real chain. The registry: organisation A runs `npm start` (embedded chain),
 * organisation B joins A's chain with its own data directory and a new operator key (funded
 * by A's chain's faucet, with no other step). Each publishes its record; `GET /v1/nodes` on
 * either lists both with fresh attestation. A record someone else carries, and a stale one,
 * do not count; a record that lies about its worker's keys does not attest.
 *
 * Node-to-node traffic (POST /v1/federation/hello, the access rule `node`): a request signed
 * by a registered node's operator is answered; an account not on the chain, a replayed
 * request, a stale record, a record whose workers run other code, and a record that names
 * another node's URL (and its workers) are refused, each with its own code.
 *
 * A job across nodes (B's host supplies its own dataset to its own enclave through the
 * relay; only sealed, signed messages cross): an analyst whom B's owner does not allow is
 * refused by B's enclave and the whole job fails naming B; a node that cannot be reached
 * fails the job at once, naming it. Training that succeeds across nodes, and a node killed in
 * the middle of it, run with the nodes as separate processes (test/federation/processes.test.ts).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyEvidence } from '../../src/attestation/verify.ts';
import {
  HEADER_ACCOUNT,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  requestSigningBytes,
} from '../../src/contracts/request-signing.ts';
import { type AccountKey, loadAccountKey } from '../../src/crypto/keys.ts';
import { ChainClient } from '../../src/chain/index.ts';
import {
  type NodeRecord,
  nodeRecordSigningBytes,
  NodeStatusSchema,
} from '../../src/contracts/node-record.ts';
import type { NodeWorker } from '../../src/contracts/node-record.ts';
import { accountKeyFromSuri } from '../../src/crypto/index.ts';
import { attestNodeWorker } from '../../src/host/federation/peer-attestation.ts';
import { freshNonce } from '../../src/host/federation/registry.ts';
import { startTestHost } from '../helpers/host.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';
import { obscura } from '../helpers/cli.ts';
import { sealAndUpload } from '../helpers/datasets.ts';
import { signedRequestForInputs } from '../../src/client/job-request.ts';
import { runFederatedTraining } from '../../src/host/federation-coordinator.ts';
import { RemoteMember } from '../../src/host/federation/remote-member.ts';
import type { SignedManifest } from '../../src/crypto/manifest.ts';

type TestHost = Awaited<ReturnType<typeof startTestHost>>;
let a: TestHost;
let b: TestHost;

beforeAll(async () => {
  // The enclaves in this process (in-process-enclave.ts): nothing here is about their process.
  a = await startTestHost({ registerNode: true, enclaveSpawn: inProcessEnclave });
  b = await startTestHost({
    chainEndpoint: a.host.chainEndpoint,
    registerNode: true,
    enclaveSpawn: inProcessEnclave,
  });
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

  it('obscura nodes lists them too (text and --json)', async () => {
    const json = await obscura(['nodes', '--json', '--api', b.host.url], { cwd: tmpdir() });
    expect(json.code, json.stderr).toBe(0);
    const listed = (JSON.parse(json.stdout) as { nodes: { url: string; status: string }[] }).nodes;
    expect(listed.map((n) => [n.url, n.status]).sort()).toEqual(
      [
        [a.host.url, 'fresh'],
        [b.host.url, 'fresh'],
      ].sort(),
    );
    const text = await obscura(['nodes', '--api', a.host.url], { cwd: tmpdir() });
    expect(text.stdout).toContain(`${a.host.url}  (this node)`);
    expect(text.stdout).toContain('attestation verified');
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

/** A signed POST /v1/federation/hello from `key` to `url`: its status, code and body, and the headers it was sent with. */
async function hello(url: string, key: AccountKey, headers?: Record<string, string>) {
  const path = '/v1/federation/hello';
  const body = JSON.stringify({ nonce: freshNonce() });
  const timestamp = String(Date.now());
  const sent = headers ?? {
    'content-type': 'application/json',
    [HEADER_ACCOUNT]: key.address,
    [HEADER_TIMESTAMP]: timestamp,
    [HEADER_SIGNATURE]: key.sign(
      requestSigningBytes('POST', path, timestamp, createHash('sha256').update(body).digest('hex')),
    ),
  };
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: sent,
    body: headers ? sentBodies.get(headers) : body,
  });
  sentBodies.set(sent, body);
  const json = (await res.json()) as {
    code?: string;
    workers?: { id: string; evidence: unknown }[];
    nonce?: string;
  };
  return { status: res.status, code: json.code, json, sent };
}
const sentBodies = new WeakMap<Record<string, string>, string>();

/** A funded account (not a node) that publishes `record` under its own key on A's chain. */
async function publishAs(seed: string, over: (own: string) => Partial<NodeRecord>): Promise<AccountKey> {
  const key = await accountKeyFromSuri(seed);
  const chain = await ChainClient.connect(a.host.chainEndpoint, { operatorSuri: seed });
  try {
    await chain.requestFunds(key.address);
    const { genesisHash, block1Hash } = await chain.identity();
    const aWorkers = (a.host.registry.current?.record.workers ?? []) as NodeWorker[];
    const record: NodeRecord = {
      version: 1,
      operator: key.address,
      url: 'http://127.0.0.1:9',
      chain: { genesisHash, block1Hash },
      issuedAt: Date.now(),
      ttlMs: 3_600_000,
      workers: aWorkers,
      attestationDigest: '00'.repeat(32),
      ...over(key.address),
    };
    await chain.publishNodeRecord({ record, signature: key.sign(nodeRecordSigningBytes(record)) });
  } finally {
    await chain.close();
  }
  return key;
}

describe('node-to-node traffic', () => {
  it("answers a registered node's signed hello with evidence that verifies for its nonce, and refuses the same request replayed", async () => {
    const bKey = await loadAccountKey(join(b.dataDir, 'operator.key'));
    const first = await hello(a.host.url, bKey);
    expect(first.status).toBe(200);
    const [w] = first.json.workers ?? [];
    const recorded = a.host.registry.current?.record.workers[0];
    const verdict = await verifyEvidence(w?.evidence as never, {
      nonce: first.json.nonce as string,
      keys: { recipient: recorded?.recipient as string, signingKey: recorded?.signingKey as string },
      measurements: [recorded?.measurement as string],
      allowSimulated: true,
    });
    expect(verdict.ok).toBe(true);
    const again = await hello(a.host.url, bKey, first.sent);
    expect([again.status, again.code]).toEqual([401, 'request_replayed']);
  });

  it('refuses an account not on the chain, a stale node, a node running other code, and a record naming another node', async () => {
    const stranger = await accountKeyFromSuri(`0x${'44'.repeat(32)}`);
    expect(await hello(a.host.url, stranger)).toMatchObject({ status: 403, code: 'node_unknown' });

    const stale = await publishAs(`0x${'55'.repeat(32)}`, () => ({ issuedAt: Date.now() - 2 * 3_600_000 }));
    expect(await hello(a.host.url, stale)).toMatchObject({ status: 403, code: 'node_stale' });

    const other = await publishAs(`0x${'66'.repeat(32)}`, () => ({
      workers: (a.host.registry.current?.record.workers ?? []).map((w) => ({
        ...w,
        measurement: 'ff'.repeat(32),
      })),
    }));
    expect(await hello(a.host.url, other)).toMatchObject({ status: 403, code: 'node_code_not_accepted' });

    // Another account claims A's URL and A's workers (keys and code): A's URL answers with A's operator.
    const impostor = await publishAs(`0x${'77'.repeat(32)}`, () => ({ url: a.host.url }));
    expect(await hello(b.host.url, impostor)).toMatchObject({ status: 403, code: 'node_url_unbound' });
  });
});

describe('a job across nodes', () => {
  const PIPELINE = JSON.stringify({
    obscura: 1,
    name: 'across-nodes',
    inputs: { data: { columns: { x0: 'float64', x1: 'float64', y: 'bool' } } },
    steps: [
      {
        id: 'm',
        train: {
          from: 'data',
          model: 'logistic_regression',
          features: ['x0', 'x1'],
          label: 'y',
          options: { epochs: 2, learning_rate: 0.05, rounds: 2 },
        },
      },
    ],
    outputs: { m: { min_group_size: 10 } },
  });
  const work = mkdtempSync(join(tmpdir(), 'obscura-across-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  let owner: AccountKey;
  let analyst: AccountKey;
  const parts: { datasetId: string; manifest: SignedManifest; blobPath: string }[] = [];

  beforeAll(async () => {
    owner = await accountKeyFromSuri(`0x${'88'.repeat(32)}`);
    analyst = await accountKeyFromSuri(`0x${'99'.repeat(32)}`);
    let seed = 5;
    const rnd = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (const [i, node] of [a, b, b].entries()) {
      const lines = ['x0,x1,y'];
      for (let r = 0; r < 300; r++) {
        const [x0, x1] = [rnd() * 2 - 1, rnd() * 2 - 1];
        lines.push(`${x0.toFixed(3)},${x1.toFixed(3)},${rnd() < 1 / (1 + Math.exp(-(2 * x0 - x1)))}`);
      }
      const file = join(work, `part-${i}.csv`);
      writeFileSync(file, `${lines.join('\n')}\n`);
      const worker = node.host.workers.list()[0] as NonNullable<ReturnType<typeof node.host.workers.list>[0]>;
      const { dataset, signed } = await sealAndUpload({
        url: node.host.url,
        file,
        out: `${file}.sealed`,
        owner,
        worker,
        // The second dataset on B: its owner allows another analyst only.
        analysts: [i === 2 ? owner.address : analyst.address],
      });
      const sha = signed.manifest.ciphertext.sha256;
      parts.push({
        datasetId: dataset,
        manifest: signed,
        blobPath: join(node.dataDir, 'blobs', 'sha256', sha.slice(0, 2), sha),
      });
    }
  }, 120_000);

  async function members() {
    const bNode = (await a.host.registry.nodes()).find((n) => n.record.url === b.host.url)
      ?.record as NodeRecord;
    const remote = new RemoteMember(
      a.host.registry.clientFor(b.host.url),
      bNode,
      bNode.workers[0] as NodeWorker,
    );
    const inputs = parts.slice(0, 2).map((p) => ({ name: 'data', ...p }));
    return { remote, bNode, inputs, local: a.host.workers.get('worker-1') };
  }

  it("fails as a whole, naming the node, when B's owner does not allow the analyst or B cannot be reached", async () => {
    const { remote, bNode, local } = await members();
    const inputs = [parts[0], parts[2]].map((p) => ({ name: 'data', ...(p as (typeof parts)[0]) }));
    const request = await signedRequestForInputs(analyst, PIPELINE, inputs);
    const partitions = (enclaveB: RemoteMember) => [
      { enclave: local, input: inputs[0] as (typeof inputs)[0] },
      { enclave: enclaveB, input: inputs[1] as (typeof inputs)[0] },
    ];
    const job = { id: randomUUID(), request, pipeline: PIPELINE };
    const refused = await runFederatedTraining({
      job,
      step: 'm',
      rounds: 1,
      partitions: partitions(remote),
    }).catch((e: unknown) => e as { code: string; message: string });
    expect(refused).toMatchObject({
      code: 'analyst_not_allowed',
      message: expect.stringContaining(`node ${b.host.url}`),
    });
    // Neither enclave holds the session any more.
    expect((await local.request('hello', {})).federatedSessions).toBe(0);
    const gone = new RemoteMember(
      a.host.registry.clientFor('http://127.0.0.1:9'),
      { ...bNode, url: 'http://127.0.0.1:9' },
      bNode.workers[0] as NodeWorker,
    );
    const t0 = Date.now();
    const down = await runFederatedTraining({
      job: { ...job, id: randomUUID() },
      step: 'm',
      rounds: 1,
      partitions: partitions(gone),
    }).catch((e: unknown) => e as { code: string; message: string });
    expect(down).toMatchObject({
      code: 'federation_node_unreachable',
      message: expect.stringContaining('http://127.0.0.1:9'),
    });
    expect(Date.now() - t0).toBeLessThan(10_000);
  }, 120_000);
});
