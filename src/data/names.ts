/**
 * Column-name rules shared by every format: names are non-empty, at most 256 characters,
 * free of control characters and unique ignoring case (DuckDB identifiers are
 * case-insensitive, so `Age` and `age` could not both be columns of one table).
 */
import { ObscuraError } from '../common/errors.ts';

// The rules live here, not in schema.ts beside the zod schema that applies them too: the
// enclave's CSV parse threads check a header with them, and importing zod cost each
// thread's start ~0.14 CPU s (measured: its start from sources, 2026-12-07).

/** Longest column name accepted, in UTF-16 code units. */
export const MAX_COLUMN_NAME = 256;

/** True when `s` holds a C0 control character or DEL. */
export function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Throws ObscuraError 'dataset_invalid' (422) naming the first bad or repeated column name. */
export function assertColumnNames(names: readonly string[], format: string): void {
  if (names.length === 0) throw new ObscuraError('dataset_invalid', `${format} dataset has no columns`, 422);
  const seen = new Map<string, string>();
  names.forEach((name, i) => {
    const fail = (why: string) => {
      throw new ObscuraError('dataset_invalid', `${format} column ${i + 1} ${why}`, 422, {
        column: name,
        index: i,
      });
    };
    if (name.length === 0) fail('has an empty name');
    if (name.length > MAX_COLUMN_NAME) fail(`has a name longer than ${MAX_COLUMN_NAME} characters`);
    if (hasControlCharacter(name)) fail('has a name with a control character');
    const key = name.toLowerCase();
    const other = seen.get(key);
    if (other !== undefined)
      fail(`(${JSON.stringify(name)}) repeats column ${JSON.stringify(other)} (names are case-insensitive)`);
    seen.set(key, name);
  });
}
