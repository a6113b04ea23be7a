/**
 * Global setup of the end-to-end suite: the `obscura` CLI bundled once per run from the
 * sources, as `npm run build` bundles it into dist/cli-bundle/ (scripts/cli-bundle.ts, which
 * says what stays external and why), so the tests' many short CLI processes (cli.ts `obscura`)
 * each load a few files instead of resolving and reading hundreds of modules.
 *
 * One difference from the user's bundle: each source module's `import.meta.url` is its
 * file-for-file build's (src/host/chain/process.ts reads as dist/host/chain/process.js), so
 * what a module finds beside itself is what it finds when it runs from dist/: the chain
 * process's entry, the dashboard's files, PROJECT_ROOT (the same directory either way). So the
 * commands that run from their files (`fromFiles` in src/cli/commands/index.ts: `serve`,
 * `dashboard`) run from this bundle too when dist/ is fresh (cli.ts decides), instead of
 * loading ~1,500 modules from dist/cli/ and node_modules: ~0.8 CPU-s less for each of the
 * suite's `obscura serve` starts (test/e2e, test/faults, test/federation). The enclave that
 * serve starts is unchanged: its measured entry (compiled-enclave.ts).
 *
 * The bundle lives in a fresh directory two levels under the project root, as dist/cli-bundle/
 * does, so node_modules resolve as from dist/. The returned teardown removes it.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import type { TestProject } from 'vitest/node';
import { bundleCli } from '../../scripts/cli-bundle.ts';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of this run's bundled CLI entry (cli-bundle.ts). */
    cliBundle: string;
  }
}

const SRC = join(PROJECT_ROOT, 'src') + sep;

/** Each source module's `import.meta.url` as the URL of its file in dist/ (`src/a/b.ts` → `dist/a/b.js`). */
const urlsAsFromDist: Plugin = {
  name: 'urls-as-from-dist',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(SRC)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const dist = join(PROJECT_ROOT, 'dist', relative(SRC, args.path)).replace(/\.ts$/, '.js');
      return {
        contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(dist).href)),
        loader: 'ts',
      };
    });
  },
};

/** Bundle src/cli/main.ts and provide its path. */
export default async function setup(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(join(PROJECT_ROOT, '.test-cli-'));
  const outdir = join(dir, 'cli');
  mkdirSync(outdir);
  await bundleCli(join(PROJECT_ROOT, 'src/cli/main.ts'), outdir, [urlsAsFromDist]);
  project.provide('cliBundle', join(outdir, 'main.js'));
  return () => rmSync(dir, { recursive: true, force: true });
}
