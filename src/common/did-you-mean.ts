/**
 * "Did you mean": the known name closest to a mistyped one, for every place a person names
 * something that must exist (commands, pipeline inputs, columns, steps). One measure for all
 * of them: the optimal-string-alignment form of the Damerau-Levenshtein distance (inserting,
 * deleting or substituting a character, or swapping two adjacent ones, costs 1), on
 * lower-cased names so a difference of case alone is the closest of all.
 */

/** Edits (insert, delete, substitute, swap adjacent) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols).fill(0);
  const at = (i: number, j: number) => d[i * cols + j] as number;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i * cols + j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The candidate closest to `name`, if one is close enough to be what was meant: at most a
 * third of the name's length in edits (at least 1), or differing in case only. Ties go to
 * the first candidate, so callers list the likeliest first.
 */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const wanted = name.toLowerCase();
  const limit = Math.max(1, Math.floor(wanted.length / 3));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    if (c === name) continue;
    const distance = editDistance(wanted, c.toLowerCase());
    if (distance <= limit && distance < bestDistance) {
      best = c;
      bestDistance = distance;
    }
  }
  return best;
}

/** ` (did you mean X?)` for the closest candidate, or '' when none is close: appended to a message. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const hint = closest(name, candidates);
  return hint === undefined ? '' : ` (did you mean ${hint}?)`;
}
