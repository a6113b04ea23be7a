/**
 * Global setup of the end-to-end suite: the `obscura` CLI bundled once per run from the
 * sources, as `npm run build` bundles it into dist/cli-bundle/ (scripts/cli-bundle.ts, which
 * says what stays external and why), so the tests' many short CLI processes (cli.ts `obscura`)
 * each load a few files instead of resolving and reading hundreds of modules, and run the
 * same bundled CLI a user runs. Commands marked `fromFiles` (src/cli/commands/index.ts) run
 * from bin/obscura.js (cli.ts decides), as bin/obscura.js runs them from dist/cli/.
 *
 * The bundle lives in a fresh directory two levels under the project root, as dist/cli-bundle/
 * does, so PROJECT_ROOT (taken from the module's own URL) and node_modules resolve as from dist/.
 * The returned teardown removes it.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { bundleCli } from '../../scripts/cli-bundle.ts';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of this run's bundled CLI entry (cli-bundle.ts). */
    cliBundle: string;
  }
}

/** Bundle src/cli/main.ts and provide its path. */
export default async function setup(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(join(PROJECT_ROOT, '.test-cli-'));
  const outdir = join(dir, 'cli');
  mkdirSync(outdir);
  await bundleCli(join(PROJECT_ROOT, 'src/cli/main.ts'), outdir);
  project.provide('cliBundle', join(outdir, 'main.js'));
  return () => rmSync(dir, { recursive: true, force: true });
}
