import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { type HostOptions, type RunningHost, startHost } from '../../src/host/api/host.ts';

/** A real host (embedded chain, enclave process, API) on free ports in a temp data dir; `opts` override the defaults. */
export async function startTestHost(
  opts: Partial<HostOptions> = {},
): Promise<{ host: RunningHost; dataDir: string; logs: string[]; close: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'obscura-host-'));
  // The embedded chain resumes from the suite's block #1 (chain-snapshot.ts) instead of making its own.
  if (!opts.chainEndpoint) copyFileSync(inject('chainSnapshot'), join(dataDir, 'chain.sqlite'));
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
