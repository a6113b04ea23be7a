/**
 * Attack: the untrusted host rewrites a sealed dataset in place while the enclave reads it,
 * after the ciphertext hash was checked, hoping the enclave computes over bytes the owner
 * never signed. The enclave's streamed read (stream-input.ts) decrypts with unsealFile and
 * compares the commitments of the bytes it actually read with the manifest at the end; this
 * test holds unsealFile to that: a swap mid-read either fails the decryption or yields
 * commitments that differ from the original's, so the end-of-stream check refuses it. The
 * nastiest swap is the same plaintext sealed again: every chunk would still parse and the
 * plaintext hash would match, so only the ciphertext commitment of what was read catches it.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isObscuraError } from '../../src/common/errors.ts';
import { generateIdentity, type SealStats, sealFile, unsealFile } from '../../src/crypto/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'obscura-swap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const me = generateIdentity();

/** Unseal `path`, running `swap` when the first block arrives; the stats, or the error's code. */
async function readWhileSwapping(path: string, swap: () => void): Promise<SealStats | string> {
  let swapped = false;
  try {
    return await unsealFile(path, [me.identity], {
      onBlock: () => {
        if (!swapped) swap();
        swapped = true;
      },
    });
  } catch (e) {
    return isObscuraError(e) ? e.code : String(e);
  }
}

describe('a sealed file rewritten while the enclave reads it', () => {
  it('never reads as the original: the decryption fails or the commitments differ', async () => {
    // Large enough for the worker path and for reads to continue after the first block (the
    // reader runs at most SLOT_COUNT = 6 blocks of 1 MiB ahead of the caller).
    writeFileSync(join(dir, 'plain'), randomBytes(9 * 1024 * 1024 + 99));
    const original = await sealFile(join(dir, 'plain'), join(dir, 'a.age'), [me.recipient]);
    const resealed = await sealFile(join(dir, 'plain'), join(dir, 'b.age'), [me.recipient]);
    expect(resealed.plaintextSha256).toBe(original.plaintextSha256);
    expect(resealed.ciphertextSha256).not.toBe(original.ciphertextSha256);
    const other = readFileSync(join(dir, 'b.age'));
    const swaps: [string, () => void][] = [
      ['the same plaintext sealed again', () => writeFileSync(join(dir, 'read.age'), other)],
      [
        'cut short',
        () => writeFileSync(join(dir, 'read.age'), readFileSync(join(dir, 'a.age')).subarray(0, 4e6)),
      ],
    ];
    for (const [what, swap] of swaps) {
      copyFileSync(join(dir, 'a.age'), join(dir, 'read.age'));
      const got = await readWhileSwapping(join(dir, 'read.age'), swap);
      if (typeof got === 'string') expect(got, what).toMatch(/^age_/);
      else expect(got.ciphertextSha256, what).not.toBe(original.ciphertextSha256);
    }
  });
});
