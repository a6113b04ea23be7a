/** One section of BENCHMARKS.md: each bench module exports `run(): Promise<BenchSection>`. */
export interface BenchSection {
  title: string;
  /** Markdown body: a table of figures measured in this run, with the peer beside them. */
  markdown: string;
}

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Seconds `fn` takes (sync or async). */
export async function seconds(fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}
