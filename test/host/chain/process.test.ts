/**
 * The embedded chain in its own process (what `obscura serve` runs): it serves, it is started
 * again on the same port and database when it dies, it closes, and it never outlives its host.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ChainClient } from '../../../src/chain/index.ts';
import { PROJECT_ROOT } from '../../../src/contracts/measurement.ts';
import { freshBuild } from '../../helpers/compiled-enclave.ts';
import { withChainSnapshot } from '../../helpers/host.ts';

/**
 * The chain module as `obscura serve` runs it: from the compiled build when it is fresh (then
 * the chain process starts from dist/ too), else from the sources, whose chain process starts
 * through tsx's loader. Same code either way; the build saves a transpiling loader in each of
 * the chain processes this file starts.
 */
const CHAIN_MODULE = freshBuild()
  ? pathToFileURL(join(PROJECT_ROOT, 'dist/host/chain/index.js')).href
  : new URL('../../../src/host/chain/index.ts', import.meta.url).href;
const { startEmbeddedChainProcess } = (await import(
  CHAIN_MODULE
)) as typeof import('../../../src/host/chain/index.ts');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(
  what: string,
  f: () => T | undefined | Promise<T | undefined>,
  ms = 60_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function head(endpoint: string): Promise<number> {
  const client = await ChainClient.connect(endpoint, { timeoutMs: 20_000 });
  try {
    return await client.headNumber();
  } finally {
    await client.close();
  }
}

describe('embedded chain process', () => {
  it('serves, is started again on the same endpoint and database after it dies, and closes', async () => {
    const dataDir = withChainSnapshot(mkdtempSync(join(tmpdir(), 'obscura-chainproc-')));
    dirs.push(dataDir);
    const logs: string[] = [];
    const chain = await startEmbeddedChainProcess({ dataDir, port: 0 }, (level, m) =>
      logs.push(`${level} ${m}`),
    );
    const first = chain.pid;
    expect(first).toBeTypeOf('number');
    expect(first).not.toBe(process.pid);
    const before = await head(chain.endpoint);
    expect(before).toBeGreaterThanOrEqual(1);

    process.kill(first as number, 'SIGKILL');
    await until('a new chain process', () => (chain.pid !== first && chain.pid ? chain.pid : undefined));
    // Same port, same database: the head it had is still there.
    const after = await until('the chain to serve again', async () =>
      head(chain.endpoint).catch(() => undefined),
    );
    expect(after).toBe(before);
    expect(logs.some((l) => l.startsWith('error') && l.includes('stopped'))).toBe(true);

    const second = chain.pid as number;
    await chain.close();
    expect(alive(second)).toBe(false);
  });

  it('exits when its host is killed, freeing its port', async () => {
    const dataDir = withChainSnapshot(mkdtempSync(join(tmpdir(), 'obscura-chainproc-')));
    dirs.push(dataDir);
    const script = `const { startEmbeddedChainProcess } = await import(${JSON.stringify(CHAIN_MODULE)});
      const chain = await startEmbeddedChainProcess({ dataDir: ${JSON.stringify(dataDir)}, port: 0 });
      console.log(JSON.stringify({ pid: chain.pid, endpoint: chain.endpoint }));
      setInterval(() => {}, 1000);`;
    const loader = CHAIN_MODULE.endsWith('.ts') ? ['--import', 'tsx'] : [];
    const host = spawn(process.execPath, [...loader, '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    host.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    const started = await until('the host to start its chain', () =>
      out.includes('\n')
        ? (JSON.parse(out.split('\n')[0] as string) as { pid: number; endpoint: string })
        : undefined,
    );
    expect(alive(started.pid)).toBe(true);
    host.kill('SIGKILL');
    await until('the orphaned chain to exit', () => (alive(started.pid) ? undefined : true), 10_000);
    // Its port is free again: a chain starts on it at once.
    const port = Number(new URL(started.endpoint.replace(/^ws/, 'http')).port);
    const again = await startEmbeddedChainProcess({ dataDir, port });
    expect(again.endpoint).toBe(started.endpoint);
    await again.close();
  });
});
