import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * What makes a test file end-to-end: it starts real processes (the enclave, `obscura` CLI or
 * server, the `age` tool) or a real chain. Read from the files themselves so a new test
 * lands in the right suite without anyone keeping a list.
 */
const E2E_MARKERS = [
  /from '(\.\.\/)+helpers\/(host|data-host|cli|tree)\.ts'/,
  /from 'node:child_process'/,
  /\bstartEmbeddedChain\b/,
  // The worker's shared chain (test/helpers/worker-chain.ts).
  /\bworkerChain\b/,
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

/**
 * Test files side by side: one more than the cores, at least three. Much of an end-to-end
 * file's time is waiting for another process, a block or a child's start, so one worker per
 * core left a core idle ~15% of the run (a full run on this 2-core machine: 263 s with two
 * workers, 247 s with three). Both projects use the same number: they run as one group
 * (groupOrder), which vitest allows only with equal maxWorkers.
 */
const WORKERS = Math.max(3, availableParallelism() + 1);

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          // In-process tests: no process or chain of their own.
          name: 'fast',
          maxWorkers: WORKERS,
          // As in e2e: a worker runs its files in one process, so polkadot, DuckDB, tfjs and
          // zod load once per worker, not once per file (most of this suite's time). No file
          // here mocks modules or changes process-wide state (env, cwd, timers, spies).
          isolate: false,
          include: ['test/**/*.test.ts'],
          exclude: e2e,
          // One group with the e2e project: vitest starts the e2e files first (its project's
          // name sorts first) and the many short fast files fill the cores as the last long
          // e2e files end, instead of one core idling at the end of each suite.
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: e2e,
          globalSetup: ['test/helpers/chain-snapshot.ts', 'test/helpers/cli-bundle.ts'],
          // Each file starts its own enclave and API on free ports, on its worker's chain
          // (test/helpers/worker-chain.ts) or one of its own.
          maxWorkers: WORKERS,
          // A worker runs its files one after another in one process, so the chain, polkadot
          // and DuckDB modules load once per worker instead of once per file. No e2e file
          // mocks modules or changes process-wide state (env, cwd, timers).
          isolate: false,
          sequence: { groupOrder: 0 },
        },
      },
    ],
  },
});
