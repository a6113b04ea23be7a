/** Shared test helpers for the data tests: reading columns back out of Arrow tables and catching errors. */
import type { Table } from 'apache-arrow';
import { expect } from 'vitest';
import { isObscuraError, type ObscuraError } from '../../src/common/errors.ts';

/** Column `name` of `table` as plain JS values (bigints kept, nulls as null). */
export function column(table: Table, name: string): unknown[] {
  const vec = table.getChild(name);
  if (!vec) throw new Error(`no column ${name}`);
  return Array.from({ length: vec.length }, (_, i) => vec.get(i) ?? null);
}

/** The ObscuraError `fn` throws (sync or async), asserting its code. */
export async function caught(fn: () => unknown, code: string): Promise<ObscuraError> {
  try {
    await fn();
  } catch (e) {
    if (!isObscuraError(e)) throw e;
    expect(e.code).toBe(code);
    return e;
  }
  throw new Error(`expected ObscuraError ${code}, nothing was thrown`);
}

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
