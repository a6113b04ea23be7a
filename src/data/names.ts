/**
 * Column-name rules shared by every format: names are non-empty, at most 256 characters,
 * free of control characters and unique ignoring case (DuckDB identifiers are
 * case-insensitive, so `Age` and `age` could not both be columns of one table).
 */
import { ObscuraError } from '../common/errors.ts';
import { hasControlCharacter, MAX_COLUMN_NAME } from './schema.ts';

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
