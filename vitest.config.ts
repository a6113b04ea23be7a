import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * What makes a test file end-to-end: it starts real processes (the enclave, `obscura` CLI or
 * server, the `age` tool) or a real chain. Read from the files themselves so a new test
 * lands in the right suite without anyone keeping a list.
 */
const E2E_MARKERS = [
  /from '(\.\.\/)+helpers\/(host|cli|tree)\.ts'/,
  /from 'node:child_process'/,
  /\bstartEmbeddedChain\b/,
  /\bstartHost\b/,
  /\bEnclaveClient\b/,
  // The crash harness's real `obscura serve` (test/faults/node.ts, rig.ts).
  /from '\.\/(node|rig)\.ts'/,
];

/** Every test file under `dir`, relative to the project root, with '/' separators. */
function testFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(dir, f).split('\\').join('/'));
}

const all = testFiles('test');
const e2e = all.filter((f) => E2E_MARKERS.some((m) => m.test(readFileSync(f, 'utf8'))));

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          // In-process tests: no process or chain of their own, so files run side by side.
          name: 'fast',
          // Every core (vitest's default leaves one idle, which is half of a 2-core machine).
          maxWorkers: '100%',
          include: ['test/**/*.test.ts'],
          exclude: e2e,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: e2e,
          globalSetup: ['test/helpers/chain-snapshot.ts'],
          // Each file starts its own chain, enclave and API on free ports. Much of a file's
          // time is waiting (for another process, a block, a child's start), so two files
          // side by side keep both cores busy.
          maxWorkers: 2,
          // A worker runs its files one after another in one process, so the chain, polkadot
          // and DuckDB modules load once per worker instead of once per file. No e2e file
          // mocks modules or changes process-wide state (env, cwd, timers).
          isolate: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
