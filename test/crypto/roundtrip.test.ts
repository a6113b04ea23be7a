/**
 * Property-based round trips through the public streaming and buffer APIs, at the STREAM
 * chunk boundaries (0, 1, 64 KiB − 1, 64 KiB, 64 KiB + 1, 128 KiB) and at random sizes,
 * written and read in random piece sizes. SLOW=1 runs many more cases.
 */
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { decryptToBuffer, generateIdentity, inspectHeader } from '../../src/crypto/index.ts';
import { openStreaming, seal } from './helpers.ts';

const SLOW = Boolean(process.env.SLOW);
const K = 64 * 1024;
const { identity, recipient } = generateIdentity();
const dir = mkdtempSync(join(tmpdir(), 'obscura-roundtrip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic non-zero bytes, cheaper than random for large sizes. */
function bytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** Expected age file size: header + nonce + payload with one tag per (at least one) chunk. */
function expectedSize(file: Buffer, n: number): number {
  return inspectHeader(file).headerBytes + 16 + n + 16 * Math.max(1, Math.ceil(n / K));
}

describe('round trips', () => {
  for (const n of [0, 1, K - 1, K, K + 1, 2 * K, 2 * K + 1]) {
    it(`${n} bytes, through every API`, async () => {
      const plain = bytes(n, n);
      const file = await seal([recipient], plain, 1000);
      expect(file.length).toBe(expectedSize(file, n));
      const streamed = await openStreaming([identity], file, 4096);
      expect(streamed.error).toBeNull();
      expect(streamed.released.equals(plain)).toBe(true);
      expect((await decryptToBuffer([identity], file)).equals(plain)).toBe(true);
      expect((await decryptToBuffer([identity], Readable.from([file]))).equals(plain)).toBe(true);
      const path = join(dir, `${n}.age`);
      writeFileSync(path, file);
      expect(
        (await decryptToBuffer([identity], createReadStream(path, { highWaterMark: 5000 }))).equals(plain),
      ).toBe(true);
    });
  }

  it('random sizes and piece sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.integer({ min: 0, max: 3 * K + 5 }), fc.constantFrom(K - 1, K, K + 1, 2 * K)),
        fc.integer({ min: 1, max: 3 * K }),
        fc.integer({ min: 1, max: 3 * K }),
        fc.integer({ min: 0, max: 255 }),
        async (n, writePiece, readPiece, seed) => {
          const plain = bytes(n, seed);
          const file = await seal([recipient], plain, writePiece);
          expect(file.length).toBe(expectedSize(file, n));
          const { released, error } = await openStreaming([identity], file, readPiece);
          expect(error).toBeNull();
          expect(released.equals(plain)).toBe(true);
        },
      ),
      { numRuns: SLOW ? 300 : 25 },
    );
  });

  it('tiny pieces (one byte at a time) across the header and a chunk boundary', async () => {
    const plain = bytes(K + 3, 7);
    const file = await seal([recipient], plain, 1);
    const { released, error } = await openStreaming([identity], file, SLOW ? 1 : 13);
    expect(error).toBeNull();
    expect(released.equals(plain)).toBe(true);
  });

  it('encrypts the same plaintext differently every time (fresh file key and nonce)', async () => {
    const plain = bytes(100, 1);
    const [a, b] = [await seal([recipient], plain), await seal([recipient], plain)];
    expect(a.equals(b)).toBe(false);
  });
});
