/**
 * Larger than memory, for real: a child process whose V8 heap is capped (as the host caps
 * the enclave's, --max-old-space-size) and whose DuckDB has a small memory limit streams
 * sealed rows of several times its heap through the partials and gets the exact counts and
 * sums. The run of ten times the heap is behind SLOW=1 (and in the bench); the fast one
 * streams one and a half times the heap.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const HEAP_MIB = 64;

function run(rows: number, chunkMiB: number) {
  const out = execFileSync(
    process.execPath,
    [
      `--max-old-space-size=${HEAP_MIB}`,
      '--import',
      'tsx',
      new URL('./stream-heap-run.ts', import.meta.url).pathname,
      String(rows),
      String(chunkMiB),
      '16MiB',
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(out) as { rows: [string, number, number, number][]; plainBytes: number; rss: number };
}

function expected(rows: number) {
  const n = new Array<number>(10).fill(0);
  const s = new Array<number>(10).fill(0);
  for (let i = 0; i < rows; i++) {
    n[i % 10] = (n[i % 10] as number) + 1;
    s[i % 10] = (s[i % 10] as number) + (i % 1000);
  }
  return n.map((c, g) => [`g${g}`, c, s[g], 996 / 8]);
}

describe('a dataset larger than the heap', () => {
  it(`aggregates exactly with a ${HEAP_MIB} MiB heap, streaming 1.5x the heap`, { timeout: 120_000 }, () => {
    const rows = 7_400_000; // about 96 MiB of CSV
    const got = run(rows, 4);
    expect(got.plainBytes).toBeGreaterThan(1.4 * HEAP_MIB * 1024 ** 2);
    expect(got.rows).toEqual(expected(rows));
  });

  it.runIf(process.env.SLOW === '1')(
    `aggregates exactly with a ${HEAP_MIB} MiB heap, streaming 10x the heap`,
    { timeout: 900_000 },
    () => {
      const rows = 52_000_000; // about 680 MiB of CSV
      const got = run(rows, 4);
      expect(got.plainBytes).toBeGreaterThan(10 * HEAP_MIB * 1024 ** 2);
      expect(got.rows).toEqual(expected(rows));
    },
  );
});
