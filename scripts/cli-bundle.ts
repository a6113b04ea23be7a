/**
 * The `obscura` CLI bundled with esbuild: src/cli/main.ts and what it imports, packages
 * included, in a few files instead of hundreds. A fresh process then reads, resolves and
 * compiles a few large files where the file-for-file build (dist/cli/main.js) makes Node's
 * ESM loader find, stat, read and link ~600 modules (yaml alone is 230 files, apache-arrow
 * 146, zod 95): measured on the development machine, `obscura seal` of a tiny file to a
 * local worker 0.61 → 0.41 CPU-s, `obscura result ID` 0.40 → 0.31 (BENCHMARKS.md, CLI
 * start-up). Minifying saved nothing measurable, so the bundle stays readable.
 *
 * Used by `npm run build` (dist/cli-bundle/, what bin/obscura.js runs) and by the e2e suite
 * (test/helpers/cli-bundle.ts bundles the sources once per run). Each command stays a chunk
 * of its own, loaded only when run (src/cli/commands/index.ts). Commands that read files
 * beside their own modules (`fromFiles` there: `serve` starts the chain process and the
 * enclave from their files, `dashboard` serves the page's files) run from the file-for-file
 * build instead.
 *
 * The output directory must sit two levels under the project root (as dist/cli/ does), so
 * PROJECT_ROOT, taken from a module's own URL (src/contracts/measurement.ts), and
 * node_modules resolve as from dist/.
 */
import { build, type Plugin } from 'esbuild';

/** Packages loaded from node_modules, not bundled: each reads files beside itself at run time. */
export const CLI_EXTERNAL: readonly string[] = [
  '@duckdb/*',
  'better-sqlite3',
  '@tensorflow/*',
  '@acala-network/*',
  '@phala/dstack-sdk',
  'esbuild',
  'tsx',
  'playwright-core',
];

/**
 * Bundle the CLI whose entry is `entry` (src/cli/main.ts) into `outdir` (its entry: `<outdir>/main.js`),
 * with esbuild `plugins` if given (the e2e suite's bundle, test/helpers/cli-bundle.ts).
 */
export async function bundleCli(entry: string, outdir: string, plugins: Plugin[] = []): Promise<void> {
  await build({
    plugins,
    entryPoints: [entry],
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: [...CLI_EXTERNAL],
    // Bundled CommonJS packages call require(); ESM output has none of its own.
    banner: {
      js: "import { createRequire as __obscuraRequire } from 'node:module'; const require = __obscuraRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
}
