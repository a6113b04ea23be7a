import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { type HostOptions, type RunningHost, startHost } from '../../src/host/api/host.ts';

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

/** A real host (embedded chain, enclave process, API) on free ports in a temp data dir; `opts` override the defaults. */
export async function startTestHost(
  opts: Partial<HostOptions> = {},
): Promise<{ host: RunningHost; dataDir: string; logs: string[]; close: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'obscura-host-'));
  if (!opts.chainEndpoint) withChainSnapshot(dataDir);
  const logs: string[] = [];
  const host = await startHost({
    dataDir,
    port: 0,
    chainPort: 0,
    log: (level, m) => logs.push(`${level} ${m}`),
    ...opts,
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
