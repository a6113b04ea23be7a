import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { inject } from 'vitest';
import { commandWord, findCommand } from '../../src/cli/commands/index.ts';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import { freshBuild, serveFromBuild } from './compiled-enclave.ts';

/** The `obscura` command as installed (bin/obscura.js: dist/ when fresh, else the sources through tsx). */
export const BIN = join(PROJECT_ROOT, 'bin/obscura.js');

/**
 * The script a CLI run of this project's code starts: the suite's bundle of the CLI
 * (cli-bundle.ts), or BIN where no bundle was built (a file run outside the e2e project) and
 * for the commands that run from their files (`fromFiles`: serve, dashboard) while dist/ is
 * not fresh: the bundle finds those files in dist/, as bin/obscura.js runs them from there
 * only when it is fresh.
 */
export function entryFor(args: string[]): string {
  const bundle = inject('cliBundle');
  if (!bundle) return BIN;
  return !findCommand(commandWord(args) ?? '')?.fromFiles || freshBuild() ? bundle : BIN;
}

/** The outcome of one CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run `obscura …` as a user would (a fresh Node process of the CLI built from the sources),
 * never throwing on a non-zero exit.
 */
export function obscura(
  args: string[],
  opts: { cwd: string; env?: Record<string, string> },
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [entryFor(args), ...args],
      { cwd: opts.cwd, env: { ...process.env, ...opts.env }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A running `obscura serve` with everything it printed so far. */
export interface Server {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * Start `obscura serve` (from the suite's bundle when dist/ is fresh: entryFor) and wait until
 * it says it is running.
 */
export async function startServer(args: string[], cwd: string, timeoutMs = 120_000): Promise<Server> {
  // This tree's enclave from the compiled build when it is fresh (compiled-enclave.ts).
  const build = serveFromBuild();
  const child = spawn(process.execPath, [...build.execArgv, entryFor(['serve']), 'serve', ...args], {
    cwd,
    env: { ...process.env, ...build.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), timeoutMs);
    const check = () => {
      if (out.includes('Obscura is running')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  return {
    child,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 20_000).unref();
      }),
  };
}
