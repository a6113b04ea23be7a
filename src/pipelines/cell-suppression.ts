/**
 * min_group_size for histogram cells, one group at a time: the rule both the runner
 * (run.ts, over DuckDB's rows) and merged partial aggregates (partials/finalize.ts) apply,
 * so the two can never drift apart.
 *
 * Each histogram cell is a group for min_group_size: a cell with fewer distinct rows of
 * some input behind it than minGroupSize (an empty one too, or the empty cells would
 * point at the rest) becomes null. The group's total is known (it passed, and may be
 * counted beside), so the suppressed cells together must hold no rows or at least
 * minGroupSize of every input: otherwise the shown cells, subtracted from the total, give
 * the few rows hidden. While they hold fewer, the smallest shown cell is suppressed too.
 */

/**
 * The released cells of one group's histogram: `counts` with suppressed cells as null.
 * `behind` holds, per input, the distinct rows of that input behind each cell.
 */
export function suppressGroupCells(
  counts: readonly (number | null)[],
  behind: readonly (readonly number[])[],
  minGroupSize: number,
): { cells: (number | null)[]; suppressed: number } {
  if (minGroupSize <= 1) return { cells: [...counts], suppressed: 0 };
  const k = minGroupSize;
  const hidden = counts.map((_, cell) => behind.some((b) => (b[cell] ?? 0) < k));
  const mass = (b: readonly number[]) => b.reduce((sum, x, cell) => sum + (hidden[cell] ? x : 0), 0);
  while (behind.some((b) => mass(b) > 0 && mass(b) < k)) {
    let pick = -1;
    counts.forEach((n, cell) => {
      if (!hidden[cell] && (pick < 0 || (n ?? 0) < (counts[pick] ?? 0))) pick = cell;
    });
    if (pick < 0) break;
    hidden[pick] = true;
  }
  return {
    cells: counts.map((n, cell) => (hidden[cell] ? null : n)),
    suppressed: hidden.filter(Boolean).length,
  };
}

/** Whether a group is released: every input has at least minGroupSize distinct rows behind it. */
export function groupReleased(rowsPerInput: readonly number[], minGroupSize: number): boolean {
  return rowsPerInput.length ? rowsPerInput.every((n) => n >= minGroupSize) : minGroupSize <= 1;
}
