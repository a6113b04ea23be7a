/**
 * A hostile host between the enclaves of a federated aggregate (issue 15). Each member
 * enclave seals its partials to the coordinating enclave and signs them; the partial is
 * bound to the job, the analyst's request, the pipeline, the member and the coordinator.
 * Playing the host (which carries every message), this test tries to read a partial, alter
 * it, replay it into another job, swap it between members, give one twice or leave one out,
 * slip in a partial from a worker that is not attested for the accepted code, have another
 * enclave merge it, and get one member's partial released alone. Each attempt must fail.
 * And an analyst's share whose inputs cannot fit a member's memory limit per job is
 * refused by the member before it spends or reads anything (enclave/job-memory.ts).
 * Three in-process enclaves, no chain (these shares spend nothing).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedRequestForInputs } from '../../src/client/job-request.ts';
import { generateEd25519 } from '../../src/common/ed25519.ts';
import type { JobSpec } from '../../src/contracts/enclave-protocol.ts';
import { openOutputs } from '../../src/contracts/result-outputs.ts';
import { accountKeyFromSuri, type AccountKey, generateIdentity } from '../../src/crypto/index.ts';
import { signManifest } from '../../src/crypto/manifest.ts';
import { openFrom, type Peer, type SealedMessage, sealFor } from '../../src/federation/channel.ts';
import type { EnclaveClient } from '../../src/host/enclave-client.ts';
import { runFederatedAggregate } from '../../src/host/federation/aggregate-coordinator.ts';
import { attestedPeer } from '../../src/host/federation/remote-member.ts';
import { type FederationMembers, startFederationMembers } from '../helpers/federation-members.ts';
import { ObscuraClient } from '../../src/client/client.ts';
import type { NodeRecord, NodeWorker } from '../../src/contracts/node-record.ts';
import { RemoteMember } from '../../src/host/federation/remote-member.ts';
import { type ResultBody, type SignedResult, verifyResultSignature } from '../../src/contracts/result.ts';
import { federationMemberChecks } from '../../src/provenance/federation-check.ts';

const PIPELINE = `obscura: 1
name: by-region
inputs: { visits: { columns: { region: string, cost: float64 } } }
steps:
  - id: agg
    aggregate: { from: visits, group_by: [region], measures: { n: { count: "*" }, total: { sum: cost, bounds: [0, 100] } } }
outputs: { agg: { min_group_size: 10 } }
`;

let members: FederationMembers | undefined;
let enclaves: EnclaveClient[];
let inputs: JobSpec['inputs'];
let analyst: AccountKey;
let owner: AccountKey;
/** The honest merge's result, which the auditor's checks take apart. */
let honest: SignedResult | undefined;

beforeAll(async () => {
  analyst = await accountKeyFromSuri(`0x${'c1'.repeat(32)}`);
  owner = await accountKeyFromSuri(`0x${'c2'.repeat(32)}`);
  members = await startFederationMembers({
    ids: ['m-a', 'm-b', 'm-c'],
    owner,
    analyst,
    // north: 4 rows on each member (12 in the union); south: 3 on one member only.
    csv: (w) => [
      'region,cost',
      ...Array.from({ length: 4 }, (_, i) => `north,${w * 10 + i}.5`),
      ...(w === 0 ? ['south,1', 'south,2', 'south,3'] : []),
    ],
  });
  ({ enclaves, inputs } = members);
}, 60_000);

afterAll(async () => {
  await members?.stop();
});

const peerOf = (e: EnclaveClient): Promise<Peer> => attestedPeer(e);

/** A job over the members' datasets with each member's sealed partial to `coordinator`, as an honest host gets them. */
async function shares(members = [0, 1, 2], coordinator = enclaves[0] as EnclaveClient) {
  const mine = members.map((i) => inputs[i] as JobSpec['inputs'][number]);
  const job = {
    id: randomUUID(),
    request: await signedRequestForInputs(analyst, PIPELINE, mine),
    pipeline: PIPELINE,
  };
  const to = await peerOf(coordinator);
  const peers: Peer[] = [];
  const partials: SealedMessage[] = [];
  for (const [k, i] of members.entries()) {
    const e = enclaves[i] as EnclaveClient;
    peers.push(await peerOf(e));
    const taken = await e.request('fed_partial', {
      session: `${job.id}:${k}`,
      job: { ...job, inputs: [mine[k] as JobSpec['inputs'][number]] },
      coordinator: to,
    });
    if (!('partial' in taken)) throw new Error('a share without spends answers its partial');
    partials.push(taken.partial);
  }
  return { job, peers, partials };
}

const refusedWith = (p: Promise<unknown>) =>
  p.then(
    () => 'released',
    (e: unknown) => (e as { code: string }).code,
  );

describe('partials of a federated aggregate, carried by a hostile host', () => {
  it('an honest merge releases the group only the union makes large enough, and not the one large nowhere', async () => {
    const coordinator = enclaves[0] as EnclaveClient;
    const released = await runFederatedAggregate({
      job: {
        id: randomUUID(),
        request: await signedRequestForInputs(analyst, PIPELINE, inputs),
        pipeline: PIPELINE,
      },
      coordinator,
      members: enclaves.map((enclave, i) => ({ enclave, input: inputs[i] as JobSpec['inputs'][number] })),
      onLedger: async () => {
        throw new Error('nothing here spends');
      },
    });
    const out = (
      await openOutputs(released.signed.result, Buffer.from(released.ciphertext ?? '', 'base64'), analyst)
    ).agg;
    expect(out?.rows).toEqual([['north', 12, 144]]);
    expect(out?.suppressedGroups).toBe(1);
    expect(released.signed.result.federation?.workers.map((w) => w.worker)).toEqual(['m-a', 'm-b', 'm-c']);
    // Every member closed its session: nothing is left to ask for.
    for (const e of enclaves) expect((await e.request('hello', {})).federatedSessions).toBe(0);
    honest = released.signed;
  }, 60_000);

  it("the result carries every member's part, and an auditor's check fails when one is altered", async () => {
    const signed = honest as SignedResult;
    const opts = { allowSimulated: true };
    const checks = await federationMemberChecks(signed.result, opts);
    expect(checks.map((c) => c.name)).toEqual([
      'member m-a',
      'member m-b',
      'member m-c',
      'federation members',
    ]);
    expect(checks.every((c) => c.ok)).toBe(true);
    // A simulated member is refused where simulated TEEs are not accepted.
    const strict = await federationMemberChecks(signed.result, { allowSimulated: false });
    expect(strict.filter((c) => c.name.startsWith('member ')).map((c) => c.ok)).toEqual([
      false,
      false,
      false,
    ]);
    const members = signed.result.federation?.members ?? [];
    const [a, b] = members as [NonNullable<typeof members>[number], NonNullable<typeof members>[number]];
    const flip = (hex: string) => `${hex[0] === '0' ? '1' : '0'}${hex.slice(1)}`;
    const altered: [string, (m: typeof members) => typeof members, string][] = [
      ["another enclave's evidence", (ms) => [{ ...a, evidence: b.evidence }, ...ms.slice(1)], 'member m-a'],
      [
        'a partial it did not sign',
        (ms) => [{ ...a, partial: { ...a.partial, sha256: flip(a.partial.sha256) } }, ...ms.slice(1)],
        'member m-a',
      ],
      ['another code', (ms) => [{ ...a, measurement: flip(a.measurement) }, ...ms.slice(1)], 'member m-a'],
      ['a foreign key', (ms) => [{ ...a, signingKey: b.signingKey }, ...ms.slice(1)], 'member m-a'],
      ['a member left out', (ms) => ms.slice(1), 'federation members'],
      [
        'a dataset moved to another member',
        (ms) => [{ ...a, datasets: [...a.datasets, ...b.datasets] }, { ...b, datasets: [] }, ...ms.slice(2)],
        'member m-a',
      ],
    ];
    for (const [what, change, failing] of altered) {
      const fed = signed.result.federation as NonNullable<ResultBody['federation']>;
      const body: ResultBody = { ...signed.result, federation: { ...fed, members: change(members) } };
      const failed = (await federationMemberChecks(body, opts)).filter((c) => !c.ok).map((c) => c.name);
      expect(failed, what).toContain(failing);
      // And the coordinating enclave's signature no longer covers it.
      expect(verifyResultSignature({ ...signed, result: body }), what).toBe(false);
    }
  }, 60_000);

  it('cannot read a partial, nor alter it', async () => {
    const { job, peers, partials } = await shares();
    const bytes = Buffer.from((partials[1] as SealedMessage).ciphertext, 'base64').toString('latin1');
    expect(bytes).not.toContain('north');
    await expect(
      openFrom(
        partials[1] as SealedMessage,
        generateIdentity().identity,
        peers[1]?.keys.signingKey as string,
      ),
    ).rejects.toMatchObject({
      code: 'federation_message_invalid',
    });
    const c = Buffer.from((partials[1] as SealedMessage).ciphertext, 'base64');
    c[c.length - 20] = (c[c.length - 20] as number) ^ 1;
    const altered = [...partials];
    altered[1] = { ...(partials[1] as SealedMessage), ciphertext: c.toString('base64') };
    expect(
      await refusedWith(
        (enclaves[0] as EnclaveClient).request('fed_merge', { job, peers, partials: altered }),
      ),
    ).toBe('federation_message_invalid');
  }, 60_000);

  it('cannot replay a partial into another job, swap partials between members, give one twice or leave one out', async () => {
    const first = await shares();
    const second = await shares();
    const merge = (job: typeof first.job, peers: Peer[], partials: SealedMessage[]) =>
      refusedWith((enclaves[0] as EnclaveClient).request('fed_merge', { job, peers, partials }));
    const replayed = [...second.partials];
    replayed[1] = first.partials[1] as SealedMessage;
    expect(await merge(second.job, second.peers, replayed)).toBe('federation_partial_unbound');
    const swapped = [second.partials[0], second.partials[2], second.partials[1]] as SealedMessage[];
    expect(await merge(second.job, second.peers, swapped)).toBe('federation_message_invalid');
    const swappedBoth = [second.peers[0], second.peers[2], second.peers[1]] as Peer[];
    expect(await merge(second.job, swappedBoth, swapped)).toBe('released');
    const twice = [second.peers[0], second.peers[1], second.peers[1]] as Peer[];
    const twiceP = [second.partials[0], second.partials[1], second.partials[1]] as SealedMessage[];
    expect(await merge(second.job, twice, twiceP)).toBe('job_request_mismatch');
    expect(await merge(second.job, second.peers.slice(0, 2), second.partials.slice(0, 2))).toBe(
      'job_request_mismatch',
    );
  }, 60_000);

  it('refuses a partial from a worker not attested for the accepted code, and one sealed to another coordinator', async () => {
    const { job, peers, partials } = await shares();
    // The host makes its own keys and signs a partial of its choosing, presenting B's evidence.
    const forger = generateEd25519();
    const { recipient } = generateIdentity();
    const forgedPeer: Peer = { ...(peers[1] as Peer), keys: { recipient, signingKey: forger.publicKey } };
    const forged = await sealFor((enclaves[0] as EnclaveClient).info.keys.recipient, forger.seed, {
      anything: 1,
    });
    expect(
      await refusedWith(
        (enclaves[0] as EnclaveClient).request('fed_merge', {
          job,
          peers: [peers[0], forgedPeer, peers[2]] as Peer[],
          partials: [partials[0], forged, partials[2]] as SealedMessage[],
        }),
      ),
    ).toBe('federation_peer_refused');
    // Sealed to A's enclave: C's cannot open it, so no other enclave merges it.
    expect(
      await refusedWith((enclaves[2] as EnclaveClient).request('fed_merge', { job, peers, partials })),
    ).toBe('federation_message_invalid');
  }, 60_000);

  it("never releases one node's partial alone: merged by itself it meets min_group_size like any result", async () => {
    const { job, peers, partials } = await shares([1]);
    const released = await (enclaves[0] as EnclaveClient).request('fed_merge', { job, peers, partials });
    const out = (
      await openOutputs(released.signed.result, Buffer.from(released.ciphertext ?? '', 'base64'), analyst)
    ).agg;
    expect(out?.rows).toEqual([]);
    expect(out?.suppressedGroups).toBe(1);
  }, 60_000);

  it('a member refuses a share whose inputs cannot fit its memory limit per job, before it spends or reads', async () => {
    // The owner's own statement of a dataset far larger than the member's memory (the file is
    // never read: the refusal comes from the manifest alone).
    const base = inputs[0] as JobSpec['inputs'][number];
    const m = base.manifest.manifest;
    const huge = {
      ...base,
      manifest: signManifest(
        { ...m, rows: 10 ** 9, plaintext: { ...m.plaintext, bytes: 4 * 10 ** 10 } },
        owner,
      ),
    };
    const job = {
      id: randomUUID(),
      request: await signedRequestForInputs(analyst, PIPELINE, [huge]),
      pipeline: PIPELINE,
      inputs: [huge],
    };
    // The member that holds the dataset (its own upload), so only the size can stop it.
    const e = enclaves[0] as EnclaveClient;
    const taken = e.request('fed_partial', {
      session: `${job.id}:0`,
      job,
      coordinator: await peerOf(enclaves[1] as EnclaveClient),
    });
    await expect(taken).rejects.toMatchObject({ code: 'job_input_too_large' });
  });

  it('a member whose node cannot be reached fails the job at once, naming the node, and nothing is released', async () => {
    const key = await accountKeyFromSuri(`0x${'c3'.repeat(32)}`);
    const b = enclaves[1] as EnclaveClient;
    const url = 'http://127.0.0.1:9';
    // Only the URL and the worker's keys matter to a RemoteMember.
    const node = { url, operator: key.address, workers: [] } as unknown as NodeRecord;
    const worker = { id: 'worker-1', ...b.info.keys } as unknown as NodeWorker;
    const t0 = Date.now();
    const failed = await runFederatedAggregate({
      job: {
        id: randomUUID(),
        request: await signedRequestForInputs(analyst, PIPELINE, inputs.slice(0, 2)),
        pipeline: PIPELINE,
      },
      coordinator: enclaves[0] as EnclaveClient,
      members: [
        { enclave: enclaves[0] as EnclaveClient, input: inputs[0] as JobSpec['inputs'][number] },
        {
          enclave: new RemoteMember(new ObscuraClient(url, key), node, worker),
          input: inputs[1] as JobSpec['inputs'][number],
        },
      ],
      onLedger: async () => {},
    }).catch((e: unknown) => e as { code: string; message: string });
    expect(failed).toMatchObject({
      code: 'federation_node_unreachable',
      message: expect.stringContaining(url),
    });
    expect(Date.now() - t0).toBeLessThan(10_000);
  }, 30_000);

  /** Node B's host, relaying to its real enclave as the relay route does, that stops once its enclave took the share. */
  async function nodeThatStops(how: 'killed' | 'hangs') {
    const b = enclaves[1] as EnclaveClient;
    const state = { took: false };
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => {
        text += c.toString('utf8');
      });
      req.on('end', async () => {
        const relay = JSON.parse(text) as { type: string; body: Record<string, unknown> };
        const job = relay.body.job as JobSpec | undefined;
        const body = job ? { ...relay.body, job: { ...job, inputs: [inputs[1]] } } : relay.body;
        const answer = await b.request(relay.type as 'attest', body as never);
        if (relay.type === 'fed_partial') {
          // The answer with the partial never leaves: the process died, or froze.
          state.took = true;
          if (how === 'killed') {
            server.close();
            server.closeAllConnections();
          }
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const key = await accountKeyFromSuri(`0x${'c4'.repeat(32)}`);
    const node = { url, operator: key.address, workers: [] } as unknown as NodeRecord;
    const worker = { id: 'worker-1', ...b.info.keys } as unknown as NodeWorker;
    const member = new RemoteMember(new ObscuraClient(url, key), node, worker);
    const stop = () => {
      server.close();
      server.closeAllConnections();
    };
    return { url, member, state, stop };
  }

  for (const [how, code, timeoutMs] of [
    ['killed', 'federation_node_unreachable', undefined],
    ['hangs', 'federation_node_timeout', 1_000],
  ] as const)
    it(`a node that ${how === 'killed' ? 'is killed' : 'hangs'} after it took its share, before its partial arrives, fails the job in bounded time naming it; nothing is released`, async () => {
      const node = await nodeThatStops(how);
      // The bound is the job's time limit (the member's, here short) plus the runner's grace.
      if (timeoutMs) (node.member.info as { limits?: unknown }).limits = { timeoutMs };
      const t0 = Date.now();
      try {
        const failed = await runFederatedAggregate({
          job: {
            id: randomUUID(),
            request: await signedRequestForInputs(analyst, PIPELINE, inputs.slice(0, 2)),
            pipeline: PIPELINE,
          },
          coordinator: enclaves[0] as EnclaveClient,
          members: [
            { enclave: enclaves[0] as EnclaveClient, input: inputs[0] as JobSpec['inputs'][number] },
            { enclave: node.member, input: inputs[1] as JobSpec['inputs'][number] },
          ],
          onLedger: async () => {},
          graceMs: 500,
        }).catch((e: unknown) => e as { code: string; message: string });
        expect(node.state.took).toBe(true);
        expect(failed).toMatchObject({ code, message: expect.stringContaining(node.url) });
        expect(Date.now() - t0).toBeLessThan(10_000);
        // Nothing was merged or released, and the surviving member holds no session.
        expect((await (enclaves[0] as EnclaveClient).request('hello', {})).federatedSessions).toBe(0);
      } finally {
        node.stop();
      }
    }, 30_000);
});
