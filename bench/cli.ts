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
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHost } from '../src/host/api/host.ts';
import { ApiClient } from '../src/cli/client.ts';
import { createKeyFile, loadAccountKey } from '../src/crypto/index.ts';
import { PROJECT_ROOT } from '../src/contracts/measurement.ts';
import { type BenchSection, median } from './section.ts';

const ROUNDS = Number(process.env.CLI_BENCH_ROUNDS ?? 7);
const BIN = join(PROJECT_ROOT, 'bin/obscura.js');

// The child reports the CPU time it used as it exits: on a shared machine wall time mostly
// measures the other tenants, CPU time what the command itself costs.
const CPU_REPORT = `data:text/javascript,process.on('exit',()=>{const u=process.cpuUsage();process.stderr.write('\\nCPU '+(u.user+u.system))})`;

interface Timing {
  wall: number;
  cpu: number;
}

// Asynchronous: the host answering the CLI runs in this process's event loop.
function once(args: string[], env: Record<string, string>): Promise<Timing> {
  const t0 = performance.now();
  // `result` of an unknown id exits 1 by design; the time is what is measured.
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      ['--import', CPU_REPORT, ...args],
      { env: { ...process.env, ...env } },
      (_e, _out, err) => {
        const cpu = Number(/CPU (\d+)/.exec(String(err))?.[1] ?? Number.NaN) / 1e6;
        resolve({ wall: (performance.now() - t0) / 1000, cpu });
      },
    ),
  );
}

async function timed(args: string[], env: Record<string, string> = {}): Promise<Timing> {
  const runs: Timing[] = [];
  for (let i = 0; i < ROUNDS; i++) runs.push(await once(args, env));
  return { wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)) };
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
    const req = { wall: median(request), cpu: Number.NaN };
    const load = loadavg()[0]?.toFixed(1);
    const row = (what: string, t: Timing) =>
      `| ${what} | ${t.wall.toFixed(3)} | ${t.cpu.toFixed(3)} | ${(t.cpu / node.cpu).toFixed(1)}× |`;
    return {
      title: 'CLI start-up',
      markdown: [
        `A fresh process per call, median of ${ROUNDS}; load average ${load} on the shared machine during the run,`,
        'so wall time is mostly waiting for a core: CPU time (user + system, reported by the child) is',
        'what the command costs. Targets: `--help` < 0.3 s; `result ID` < 0.5 s plus the request.',
        '',
        '| call | wall s | CPU s | CPU vs `node -e 0` |',
        '| --- | ---: | ---: | ---: |',
        row('`node -e 0`', node),
        row('`obscura --help` (dist/)', help),
        row('`obscura result ID --key K` (dist/, one signed request)', res),
        row('`obscura --help` (sources through tsx)', helpTsx),
        row('`obscura result ID --key K` (sources through tsx)', resTsx),
        `| the signed request alone, in-process | ${req.wall.toFixed(3)} | - | - |`,
      ].join('\n'),
    };
  } finally {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
