/**
 * One embedded chain per vitest worker, shared by the test hosts of every end-to-end file that
 * worker runs (startTestHost, the crash harness's `obscura serve --chain`). Starting a chain
 * costs about 2 CPU-s even from the suite's block #1 snapshot (chain-snapshot.ts); a host
 * that joins a running one costs a connection and a faucet call (`obscura_fund`), as a node
 * joining another organisation's chain does. Each test host still has its own operator
 * account, data directory, enclave keys and ledger, so hosts on the shared chain see each
 * other only as other accounts' blocks. A test that stops, restarts or inspects a chain's
 * identity starts one of its own (startEmbeddedChain), and startTestHost leaves a given
 * `chainEndpoint` alone.
 *
 * The faucet funds at most FAUCET_MAX_ACCOUNTS (64) accounts per chain start, so a worker's
 * files may start at most that many hosts with data directories of their own: about 45 in
 * the whole suite today, spread over the workers.
 *
 * The chain lives in the worker process (e2e files run with isolate: false, so one worker
 * runs many files) and its data directory in the suite's snapshot directory, which the
 * global setup removes at the end even if the worker is killed.
 */
import { copyFileSync, mkdtempSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { inject } from 'vitest';
import { type EmbeddedChain, startEmbeddedChain } from '../../src/host/chain/index.ts';

// On globalThis, not in a module variable: a worker may evaluate this module once per file.
const SLOT = Symbol.for('obscura.test.worker-chain');
type Slot = { [SLOT]?: Promise<EmbeddedChain> };

/** This worker's chain (started on first use from the suite's block #1 snapshot). */
export function workerChain(): Promise<EmbeddedChain> {
  const g = globalThis as Slot;
  g[SLOT] ??= start().catch((e: unknown) => {
    // A failed start is not cached: the next file tries again and reports its own failure.
    delete g[SLOT];
    throw e;
  });
  return g[SLOT];
}

/**
 * A chain of the caller's own, from the same snapshot (the caller closes it). For a file whose
 * point is the registry of nodes: every test host on the worker's chain publishes a node
 * record that stays fresh for an hour after its file has stopped it, and a node asking the
 * registry would find those dead nodes.
 */
export function ownChain(): Promise<EmbeddedChain> {
  return start();
}

async function start(): Promise<EmbeddedChain> {
  const snapshot = inject('chainSnapshot');
  const dataDir = mkdtempSync(join(dirname(snapshot), 'worker-'));
  copyFileSync(snapshot, join(dataDir, 'chain.sqlite'));
  return startEmbeddedChain({ dataDir, port: 0 });
}
