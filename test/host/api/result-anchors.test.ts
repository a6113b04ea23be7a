/**
 * Results released while an anchor is on its way go on chain together: the job runner does
 * not wait one block per job. Each result still gets its own receipt, only once the chain
 * has the batch; a failed attempt is retried for the whole batch; a stop ends the wait.
 */
import { describe, expect, it } from 'vitest';
import type { AnchorRecord } from '../../../src/chain/records.ts';
import type { AnchorReceipt } from '../../../src/chain/schemas.ts';
import { ChainHealth } from '../../../src/host/api/anchoring.ts';
import type { HostContext } from '../../../src/host/api/context.ts';
import { HostMetrics } from '../../../src/host/api/metrics.ts';
import { ResultAnchors } from '../../../src/host/api/result-anchors.ts';

const hash = (n: number) => n.toString(16).padStart(64, '0');

/** A chain whose anchors finish when the test says so; it records each call's records. */
function heldChain() {
  const calls: AnchorRecord[][] = [];
  const holds: { release: () => void; fail: (e: Error) => void }[] = [];
  const chain = {
    anchor: (records: AnchorRecord[]) => {
      calls.push(records);
      return new Promise<AnchorReceipt[]>((resolve, reject) => {
        holds.push({
          release: () =>
            resolve(
              records.map((_, leafIndex) => ({ leafIndex, blockNumber: calls.length }) as AnchorReceipt),
            ),
          fail: reject,
        });
      });
    },
  };
  return { chain, calls, holds };
}

function context(chain: unknown, shutdown = new AbortController()) {
  const anchoring: string[] = [];
  const ctx = {
    chain,
    metadata: { setAnchoring: (id: string) => anchoring.push(id) },
    log: () => {},
    metrics: new HostMetrics(),
    chainHealth: new ChainHealth(),
    shutdown: shutdown.signal,
  } as unknown as HostContext;
  return { ctx, anchoring, shutdown };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('ResultAnchors', () => {
  it('anchors the results released during one anchor together in the next, each with its own receipt', async () => {
    const { chain, calls, holds } = heldChain();
    const anchors = new ResultAnchors(context(chain).ctx);
    const first = anchors.anchor('j0', hash(0));
    await tick();
    const rest = [1, 2, 3].map((n) => anchors.anchor(`j${n}`, hash(n)));
    await tick();
    expect(calls.map((c) => c.length)).toEqual([1]);
    holds[0]?.release();
    expect(await first).toMatchObject({ leafIndex: 0, blockNumber: 1 });
    await tick();
    expect(calls[1]).toEqual([1, 2, 3].map((n) => ({ kind: 'result', hash: hash(n) })));
    let settled = false;
    void Promise.all(rest).then(() => {
      settled = true;
    });
    await tick();
    // No receipt before the chain has the batch.
    expect(settled).toBe(false);
    holds[1]?.release();
    expect(await Promise.all(rest)).toMatchObject([
      { leafIndex: 0, blockNumber: 2 },
      { leafIndex: 1, blockNumber: 2 },
      { leafIndex: 2, blockNumber: 2 },
    ]);
    // Idle again: the next result starts an anchor of its own at once.
    const later = anchors.anchor('j4', hash(4));
    await tick();
    expect(calls).toHaveLength(3);
    holds[2]?.release();
    await later;
  });

  it('retries a failed anchor for the whole batch, showing every job of it as waiting', async () => {
    const { chain, calls, holds } = heldChain();
    const { ctx, anchoring } = context(chain);
    const anchors = new ResultAnchors(ctx);
    const a = anchors.anchor('a', hash(1));
    await tick();
    const b = [anchors.anchor('b', hash(2)), anchors.anchor('c', hash(3))];
    holds[0]?.release();
    await a;
    await tick();
    holds[1]?.fail(new Error('chain unreachable'));
    // Backoff starts at 0.5 s.
    await new Promise((r) => setTimeout(r, 700));
    expect(anchoring).toEqual(['b', 'c']);
    expect(calls[2]).toEqual(calls[1]);
    holds[2]?.release();
    expect((await Promise.all(b)).map((r) => r.leafIndex)).toEqual([0, 1]);
  });

  it('ends the wait with host_stopping when the host stops during an outage', async () => {
    const { chain, holds } = heldChain();
    const { ctx, shutdown } = context(chain);
    const anchors = new ResultAnchors(ctx);
    const a = anchors.anchor('a', hash(1));
    await tick();
    holds[0]?.fail(new Error('chain unreachable'));
    await tick();
    shutdown.abort();
    await expect(a).rejects.toMatchObject({ code: 'host_stopping' });
  });
});
