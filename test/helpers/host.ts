import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { type HostOptions, type RunningHost, startHost } from '../../src/host/api/host.ts';
import { compiledEnclave } from './compiled-enclave.ts';
import { workerChain } from './worker-chain.ts';

/**
 * Put the suite's chain at block #1 (chain-snapshot.ts) in `dataDir` (made if missing), so a
 * host started there resumes it instead of building block #1 itself, the slowest part of a
 * first start. For tests that start and restart `startHost` on a data directory of their own.
 */
export function withChainSnapshot(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  copyFileSync(inject('chainSnapshot'), join(dataDir, 'chain.sqlite'));
  return dataDir;
}

/**
 * A real host (enclave process, API) on a free port in a temp data dir, on this worker's
 * shared chain (worker-chain.ts) unless `opts.chainEndpoint` names another or the host
 * registers a node record (then on a chain of its own); `opts` override the defaults. The
 * enclave process starts from the compiled build when it is fresh (compiled-enclave.ts).
 */
export async function startTestHost(
  opts: Partial<HostOptions> = {},
): Promise<{ host: RunningHost; dataDir: string; logs: string[]; close: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'obscura-host-'));
  // Every node on a chain reads the node records on it: a host that publishes one gets a
  // chain of its own (resumed from the snapshot), so no file sees another file's nodes.
  const ownChain = opts.registerNode === true && !opts.chainEndpoint;
  if (ownChain) withChainSnapshot(dataDir);
  const chain = ownChain
    ? { chainPort: 0 }
    : { chainEndpoint: opts.chainEndpoint ?? (await workerChain()).endpoint };
  const logs: string[] = [];
  const host = await startHost({
    dataDir,
    port: 0,
    log: (level, m) => logs.push(`${level} ${m}`),
    enclaveSpawn: compiledEnclave,
    ...opts,
    ...chain,
  });
  return {
    host,
    dataDir,
    logs,
    close: async () => {
      await host.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
