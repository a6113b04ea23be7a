/**
 * The real enclave process, started from the compiled JavaScript of the project's own sources
 * (dist/, which `npm run build` writes and `npm ci` runs through `prepare`) instead of through
 * tsx's loader. Same code, same process, same IPC channel, heap cap and environment; only the
 * transpiling moves from every process start (about 1 CPU-s each: tsx's hooks see every module
 * the enclave loads) to the build. What is measured does not change: the enclave computes its
 * measurement from the sources under src/ (dist/contracts/measurement.js sits at the same depth
 * as src/contracts/measurement.ts, so PROJECT_ROOT is the same directory).
 *
 * Used only when the code tree's dist/ is a complete build newer than every source file (the
 * rule bin/obscura.js follows for the CLI), so a test never runs code older than the source
 * it reads; otherwise the process starts from its TypeScript entry as `obscura serve` starts
 * it. Another code tree (an upgrade's successor, tree.ts) has a build of its own when it was
 * copied from a fresh one.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENCLAVE_ENTRY, PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import { type EnclaveSpawn, forkEnclave } from '../../src/host/enclave-client.ts';

/** The compiled enclave entry of the code tree at `root`. */
function compiledEntry(root: string): string {
  return join(root, 'dist', ENCLAVE_ENTRY.replace(/^src\//, '').replace(/\.ts$/, '.js'));
}

/** Whether `root`'s dist/ holds a complete build (its stamp) newer than every file under its src/. */
export function freshBuild(root: string = PROJECT_ROOT): boolean {
  let built: number;
  try {
    built = statSync(join(root, 'dist/.built')).mtimeMs;
  } catch {
    return false;
  }
  const src = join(root, 'src');
  return readdirSync(src, { recursive: true, encoding: 'utf8' }).every(
    (f) => statSync(join(src, f)).mtimeMs <= built,
  );
}

/** Node options without tsx's `--import <loader>` pair (the compiled entry needs no loader). */
function withoutLoader(execArgv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    if (execArgv[i] === '--import' && /[\\/]tsx[\\/]/.test(execArgv[i + 1] ?? '')) i++;
    else out.push(execArgv[i] as string);
  }
  return out;
}

/**
 * forkEnclave, from `<root>/dist/enclave/main.js` when the entry asked for is a code tree's
 * `<root>/src/enclave/main.ts` and that tree's dist/ is fresh.
 */
export const compiledEnclave: EnclaveSpawn = (entry, execArgv, env) => {
  const root = entry.endsWith(ENCLAVE_ENTRY) ? entry.slice(0, -ENCLAVE_ENTRY.length) : undefined;
  return root !== undefined && freshBuild(root)
    ? forkEnclave(compiledEntry(root), withoutLoader(execArgv), env)
    : forkEnclave(entry, execArgv, env);
};

const PRELOAD = fileURLToPath(new URL('./compiled-enclave-preload.mjs', import.meta.url));

/**
 * What a test adds to an `obscura serve` process it spawns so that the enclave serve starts is
 * its code tree's compiled entry (this project's unless `root` names another), as
 * compiledEnclave does for test hosts: Node options (a preload, compiled-enclave-preload.mjs)
 * and the environment naming the entry to replace. Nothing when that tree's dist/ is not
 * fresh: serve then starts the enclave from its TypeScript entry, as a user's does.
 */
export function serveFromBuild(root: string = PROJECT_ROOT): {
  execArgv: string[];
  env: Record<string, string>;
} {
  if (!freshBuild(root)) return { execArgv: [], env: {} };
  return {
    execArgv: ['--import', PRELOAD],
    env: {
      OBSCURA_TEST_ENCLAVE_FROM: join(root, ENCLAVE_ENTRY),
      OBSCURA_TEST_ENCLAVE_TO: compiledEntry(root),
    },
  };
}
