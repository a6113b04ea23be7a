/**
 * Shared helpers for the crypto tests: run bytes through the streaming API, collect what a
 * failing stream released, and find the `age` tool.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { expect } from 'vitest';
import { isObscuraError } from '../../src/common/errors.ts';
import { decryptStream, encryptStream, type SealStats, unsealFile } from '../../src/crypto/index.ts';

/** Push `input` through `t` in pieces of `piece` bytes; resolve with all output. */
export async function through(t: Transform, input: Uint8Array, piece = 64 * 1024 + 7): Promise<Buffer> {
  const out: Buffer[] = [];
  t.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    t.on('end', resolve);
    t.on('error', reject);
  });
  const pieces = function* () {
    for (let off = 0; off < input.length; off += piece) yield Buffer.from(input.subarray(off, off + piece));
  };
  Readable.from(pieces()).pipe(t);
  await done;
  return Buffer.concat(out);
}

/** Encrypt `plaintext` to `recipients` with encryptStream. */
export function seal(recipients: string[], plaintext: Uint8Array, piece?: number): Promise<Buffer> {
  return through(encryptStream(recipients), plaintext, piece);
}

/** Decrypt with decryptStream; returns the plaintext released and the error, if any. */
export async function openStreaming(
  identities: string[],
  file: Uint8Array,
  piece?: number,
): Promise<{ released: Buffer; error: unknown }> {
  const t = decryptStream(identities);
  const released: Buffer[] = [];
  t.on('data', (c: Buffer) => released.push(c));
  try {
    await through(t, file, piece);
    return { released: Buffer.concat(released), error: null };
  } catch (error) {
    return { released: Buffer.concat(released), error };
  }
}

/** Assert that `error` is an ObscuraError with `code`. */
export function expectCode(error: unknown, code: string): void {
  expect(isObscuraError(error) ? error.code : error).toBe(code);
}

/** Assert that `fn` throws (or rejects with) an ObscuraError with `code`. */
export async function expectThrowsCode(fn: () => unknown, code: string): Promise<void> {
  let caught: unknown = null;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${code}`).not.toBeNull();
  expectCode(caught, code);
}

/** Whether the Debian `age` tool is on PATH. */
export const hasAgeTool = spawnSync('age', ['--version'], { stdio: 'ignore' }).status === 0;

/** Decrypt `file` with unsealFile (through a temporary file); returns the plaintext released, the stats, the error. */
export async function openUnsealing(
  identities: string[],
  file: Uint8Array,
): Promise<{ released: Buffer; stats: SealStats | null; error: unknown }> {
  const dir = mkdtempSync(join(tmpdir(), 'obscura-unseal-'));
  const path = join(dir, 'file.age');
  writeFileSync(path, file);
  const released: Buffer[] = [];
  try {
    const stats = await unsealFile(path, identities, { onBlock: (b) => void released.push(Buffer.from(b)) });
    return { released: Buffer.concat(released), stats, error: null };
  } catch (error) {
    return { released: Buffer.concat(released), stats: null, error };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
