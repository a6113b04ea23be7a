/**
 * Every enclave's part of a federated training result (issue 15), as for a federated
 * aggregate: each worker seals its encoding statistics to the aggregator with its signed
 * statement of its share (job, request, pipeline, aggregator, its inputs), and the aggregator
 * puts each worker's attestation evidence, that statement and the hash and signature of the
 * sealed statistics into the signed result, so `obscura verify` checks every worker.
 *
 * Playing the host: the statistics of a worker it opened for another job id (under the same
 * request, which each worker runs once) are refused by the aggregator; and an auditor's
 * check of the result fails when a worker's part is altered, dropped or swapped with
 * another's (and the aggregator's signature no longer covers it). Three in-process
 * enclaves, no chain (these jobs spend nothing).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedRequestForInputs } from '../../src/client/job-request.ts';
import type { JobSpec } from '../../src/contracts/enclave-protocol.ts';
import { type ResultBody, type SignedResult, verifyResultSignature } from '../../src/contracts/result.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import type { Peer, SealedMessage } from '../../src/federation/channel.ts';
import type { EnclaveClient } from '../../src/host/enclave-client.ts';
import { runFederatedTraining } from '../../src/host/federation-coordinator.ts';
import { attestedPeer } from '../../src/host/federation/remote-member.ts';
import { federationMemberChecks } from '../../src/provenance/federation-check.ts';
import { type FederationMembers, startFederationMembers } from '../helpers/federation-members.ts';

const PIPELINE = `obscura: 1
name: cost-model
inputs: { visits: { columns: { age: int64, cost: float64 } } }
steps:
  - id: model
    train: { from: visits, model: linear_regression, features: [age], label: cost, options: { epochs: 1, rounds: 1 } }
outputs: { model: { min_group_size: 10 } }
`;

let members: FederationMembers | undefined;
let enclaves: EnclaveClient[];
let inputs: JobSpec['inputs'];
let analyst: AccountKey;
let honest: SignedResult;

beforeAll(async () => {
  analyst = await accountKeyFromSuri(`0x${'d1'.repeat(32)}`);
  const owner = await accountKeyFromSuri(`0x${'d2'.repeat(32)}`);
  members = await startFederationMembers({
    ids: ['t-a', 't-b', 't-c'],
    owner,
    analyst,
    csv: (w) => [
      'age,cost',
      ...Array.from({ length: 12 }, (_, i) => `${20 + i * 3 + w},${100 + i * 7 + w * 5}.5`),
    ],
  });
  ({ enclaves, inputs } = members);
  const released = await runFederatedTraining({
    job: {
      id: randomUUID(),
      request: await signedRequestForInputs(analyst, PIPELINE, inputs),
      pipeline: PIPELINE,
    },
    step: 'model',
    rounds: 1,
    partitions: enclaves.map((enclave, i) => ({ enclave, input: inputs[i] as JobSpec['inputs'][number] })),
  });
  honest = released.signed;
}, 60_000);

afterAll(async () => {
  await members?.stop();
});

const peerOf = (e: EnclaveClient): Promise<Peer> => attestedPeer(e);

const refusedWith = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: unknown) => (e as { code: string }).code,
  );

describe("a federated training result carries every worker's part", () => {
  it("an auditor's check passes for each worker of an honest result", async () => {
    const checks = await federationMemberChecks(honest.result, { allowSimulated: true });
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['member t-a', true],
      ['member t-b', true],
      ['member t-c', true],
      ['federation members', true],
    ]);
    expect(honest.result.federation?.rounds).toBe(1);
    // A simulated worker is refused where simulated TEEs are not accepted.
    const strict = await federationMemberChecks(honest.result, { allowSimulated: false });
    expect(strict.filter((c) => c.name.startsWith('member ')).every((c) => !c.ok)).toBe(true);
  });

  it("fails when a worker's part is altered, dropped or swapped with another's", async () => {
    const members = honest.result.federation?.members ?? [];
    const [a, b] = members as [NonNullable<typeof members>[number], NonNullable<typeof members>[number]];
    const flip = (hex: string) => `${hex[0] === '0' ? '1' : '0'}${hex.slice(1)}`;
    const altered: [string, (m: typeof members) => typeof members, string][] = [
      [
        'its statement altered',
        (ms) => [{ ...a, statement: flip(a.statement) }, ...ms.slice(1)],
        'member t-a',
      ],
      [
        'statistics it did not sign',
        (ms) => [{ ...a, partial: { ...a.partial, sha256: flip(a.partial.sha256) } }, ...ms.slice(1)],
        'member t-a',
      ],
      [
        "another worker's evidence",
        (ms) => [{ ...a, evidence: b.evidence, nonce: b.nonce }, ...ms.slice(1)],
        'member t-a',
      ],
      ['dropped', (ms) => ms.slice(1), 'federation members'],
      [
        "swapped with another worker's statement and statistics",
        (ms) => [
          { ...a, statement: b.statement, partial: b.partial },
          { ...b, statement: a.statement, partial: a.partial },
          ...ms.slice(2),
        ],
        'member t-a',
      ],
      ["another worker's datasets", (ms) => [{ ...a, datasets: b.datasets }, ...ms.slice(1)], 'member t-a'],
    ];
    for (const [what, change, failing] of altered) {
      const fed = honest.result.federation as NonNullable<ResultBody['federation']>;
      const body: ResultBody = { ...honest.result, federation: { ...fed, members: change(members) } };
      const failed = (await federationMemberChecks(body, { allowSimulated: true }))
        .filter((c) => !c.ok)
        .map((c) => c.name);
      expect(failed, what).toContain(failing);
      expect(verifyResultSignature({ ...honest, result: body }), what).toBe(false);
    }
    // A result that drops the members altogether is no longer the aggregator's.
    const { members: _gone, ...bare } = honest.result.federation as NonNullable<ResultBody['federation']>;
    expect(verifyResultSignature({ ...honest, result: { ...honest.result, federation: bare } })).toBe(false);
  });
});

describe("a worker's statistics, carried by a hostile host", () => {
  it('refuses the statistics of a worker the host opened for another job id, even under the same request', async () => {
    const request = await signedRequestForInputs(analyst, PIPELINE, inputs);
    const job = { id: randomUUID(), request, pipeline: PIPELINE };
    const other = { ...job, id: randomUUID() };
    const session = randomUUID();
    const aggregator = await peerOf(enclaves[0] as EnclaveClient);
    try {
      // Worker 1 is told another job id: its statement names that job, not the one aggregated.
      const stats: SealedMessage[] = [];
      for (const [i, e] of enclaves.entries()) {
        const opened = await e.request('fed_open', {
          session,
          job: { ...(i === 1 ? other : job), inputs: [inputs[i] as JobSpec['inputs'][number]] },
          step: 'model',
          aggregator,
        });
        stats.push(opened.stats);
      }
      const peers = await Promise.all(enclaves.map(peerOf));
      expect(
        await refusedWith(
          (enclaves[0] as EnclaveClient).request('fed_init', {
            session,
            job: { ...job, step: 'model' },
            peers,
            stats,
          }),
        ),
      ).toBe('federation_partial_unbound');
    } finally {
      for (const e of enclaves) await e.request('fed_close', { session }).catch(() => undefined);
    }
    for (const e of enclaves) expect((await e.request('hello', {})).federatedSessions).toBe(0);
  });
});
