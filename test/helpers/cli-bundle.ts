/**
 * Global setup of the end-to-end suite: the `obscura` CLI bundled once per run with esbuild,
 * so the tests' many short CLI processes (cli.ts `obscura`) each load a few files instead of
 * resolving and reading hundreds of modules: about half the CPU of a start from dist/ (0.3
 * instead of 0.6 CPU-s for `keys new`), a third of one through tsx. Same sources, same esbuild
 * that `npm run build` and tsx transpile with; only the module loading differs.
 *
 * Packages that find files next to themselves at run time (native addons, WebAssembly, worker
 * scripts) stay external and load from node_modules as usual. Commands that read files next to
 * their own modules (`serve` starts the chain process and the enclave from their files,
 * `dashboard` serves the page's files) run from bin/obscura.js (cli.ts decides).
 *
 * The bundle lives in a fresh directory two levels under the project root, as dist/cli/ does,
 * so PROJECT_ROOT (taken from the module's own URL) and node_modules resolve as from dist/.
 * The returned teardown removes it.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { TestProject } from 'vitest/node';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of this run's bundled CLI entry (cli-bundle.ts). */
    cliBundle: string;
  }
}

/** Packages loaded from node_modules, not bundled: each reads files beside itself at run time. */
const EXTERNAL = [
  '@duckdb/*',
  'better-sqlite3',
  '@tensorflow/*',
  '@acala-network/*',
  '@phala/*',
  'esbuild',
  'tsx',
  'playwright-core',
];

/** Bundle src/cli/main.ts and provide its path. */
export default async function setup(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(join(PROJECT_ROOT, '.test-cli-'));
  const outdir = join(dir, 'cli');
  mkdirSync(outdir);
  await build({
    entryPoints: [join(PROJECT_ROOT, 'src/cli/main.ts')],
    outdir,
    bundle: true,
    // Each command stays a chunk of its own, loaded only when run (commands/index.ts).
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    // Bundled CommonJS packages call require(); ESM output has none of its own.
    banner: {
      js: "import { createRequire as __obscuraRequire } from 'node:module'; const require = __obscuraRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  project.provide('cliBundle', join(outdir, 'main.js'));
  return () => rmSync(dir, { recursive: true, force: true });
}
