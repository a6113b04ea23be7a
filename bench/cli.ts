/**
 * How fast the `obscura` command answers, as a user starts it (a fresh `node bin/obscura.js`
 * process): `--help`, and `result ID` against a host on localhost (a signed read; the id is
 * unknown, so the answer is a 404 and the figure is the CLI's start-up, key loading and
 * signing plus one request). Beside them in the same run: `node -e 0` (Node's own start-up),
 * the same two commands run from the TypeScript sources through tsx (OBSCURA_FROM_SOURCE=1,
 * what every call cost before dist/), and the signed request alone, made in-process.
 * Targets on the development machine: --help < 0.3 s, result < 0.5 s plus the request.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHost } from '../src/host/api/host.ts';
import { ApiClient } from '../src/cli/client.ts';
import { createKeyFile, loadAccountKey } from '../src/crypto/index.ts';
import { PROJECT_ROOT } from '../src/contracts/measurement.ts';
import { type BenchSection, median } from './section.ts';

const ROUNDS = Number(process.env.CLI_BENCH_ROUNDS ?? 7);
const BIN = join(PROJECT_ROOT, 'bin/obscura.js');

// Asynchronous: the host answering the CLI runs in this process's event loop.
function wall(args: string[], env: Record<string, string> = {}): Promise<number> {
  const t0 = performance.now();
  // `result` of an unknown id exits 1 by design; the time is what is measured.
  return new Promise((resolve) =>
    execFile(process.execPath, args, { env: { ...process.env, ...env } }, () =>
      resolve((performance.now() - t0) / 1000),
    ),
  );
}

async function timed(args: string[], env: Record<string, string> = {}): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) runs.push(await wall(args, env));
  return median(runs);
}

/** Run the CLI start-up benchmark. */
export async function run(): Promise<BenchSection> {
  if (!existsSync(join(PROJECT_ROOT, 'dist/.built'))) throw new Error('run `npm run build` first');
  const dir = mkdtempSync(join(tmpdir(), 'obscura-bench-cli-'));
  const host = await startHost({ dataDir: join(dir, 'data'), port: 0, chainPort: 0 });
  try {
    const keyFile = join(dir, 'analyst.key');
    await createKeyFile(keyFile);
    const key = await loadAccountKey(keyFile);
    const api = new ApiClient(host.url, key);
    const result = [BIN, 'result', 'r-unknown', '--key', keyFile, '--api', host.url];
    const source = { OBSCURA_FROM_SOURCE: '1' };
    const node = await timed(['-e', '0']);
    const help = await timed([BIN, '--help']);
    const res = await timed(result);
    const helpTsx = await timed([BIN, '--help'], source);
    const resTsx = await timed(result, source);
    const request: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      await api.get('/v1/results/r-unknown').catch(() => undefined);
      request.push((performance.now() - t0) / 1000);
    }
    const req = median(request);
    const row = (what: string, s: number) => `| ${what} | ${s.toFixed(3)} | ${(s / node).toFixed(1)}× |`;
    return {
      title: 'CLI start-up',
      markdown: [
        `A fresh process per call, median of ${ROUNDS}. Targets: \`--help\` < 0.3 s; \`result ID\` < 0.5 s plus the request.`,
        '',
        '| call | s | vs `node -e 0` |',
        '| --- | ---: | ---: |',
        row('`node -e 0`', node),
        row('`obscura --help` (dist/)', help),
        row('`obscura result ID --key K` (dist/, one signed request)', res),
        row('`obscura --help` (sources through tsx)', helpTsx),
        row('`obscura result ID --key K` (sources through tsx)', resTsx),
        row('the signed request alone, in-process', req),
      ].join('\n'),
    };
  } finally {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
