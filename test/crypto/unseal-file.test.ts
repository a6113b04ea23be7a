/**
 * unsealFile on its worker path (files from 8 MiB; smaller ones are covered with every
 * error code in errors.test.ts and the CCTV vectors): the commitments it returns, the
 * plaintext it releases, files from the `age` tool, and damage deep in a file (a flipped
 * byte, a cut at a block boundary, appended bytes) classified as the stream decryption
 * classifies it, with only authenticated plaintext released before the failure.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateIdentity, type SealStats, sealFile, unsealedBlocks } from '../../src/crypto/index.ts';
import { expectCode, hasAgeTool, openStreaming, openUnsealing } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'obscura-unsealfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const me = generateIdentity();
const K = 64 * 1024;
const MiB = 1024 * 1024;
const SEALED_BLOCK = 16 * (K + 16);

/** A sealed file of `n` random bytes: plaintext, the age file and sealFile's stats. */
async function sealed(n: number) {
  const plain = randomBytes(n);
  writeFileSync(join(dir, `in-${n}`), plain);
  const stats = await sealFile(join(dir, `in-${n}`), join(dir, `out-${n}.age`), [me.recipient]);
  return { plain, file: readFileSync(join(dir, `out-${n}.age`)), stats };
}

describe('unsealFile (worker threads)', () => {
  for (const n of [8 * MiB, 9 * MiB + K, 11 * MiB + 7]) {
    it(`${n} bytes: the plaintext in order and the same commitments as sealFile`, async () => {
      const { plain, file, stats } = await sealed(n);
      const opened = await openUnsealing([me.identity], file);
      expect(opened.error).toBeNull();
      expect(opened.released.equals(plain)).toBe(true);
      expect(opened.stats).toEqual(stats);
    });
  }

  it.skipIf(!hasAgeTool)('opens a file the age tool sealed', async () => {
    const plain = randomBytes(9 * MiB + 123);
    writeFileSync(join(dir, 'tool-in'), plain);
    const r = spawnSync('age', ['-r', me.recipient, '-o', join(dir, 'tool.age'), join(dir, 'tool-in')]);
    expect(r.status).toBe(0);
    const file = readFileSync(join(dir, 'tool.age'));
    const opened = await openUnsealing([me.identity], file);
    expect(opened.error).toBeNull();
    expect(opened.released.equals(plain)).toBe(true);
    expect(opened.stats?.ciphertextSha256).toBe(sha256(file));
    expect(opened.stats?.plaintextSha256).toBe(sha256(plain));
  });

  it('damage deep in the file: same code as the stream, only authenticated plaintext before it', async () => {
    const { plain, file } = await sealed(10 * MiB + 5);
    const headerAndNonce = file.length - (10 * MiB + 5) - 161 * 16; // 161 chunks, 16-byte tags
    const flipped = Buffer.from(file);
    const at = headerAndNonce + 5 * SEALED_BLOCK + 3 * (K + 16) + 100; // block 5, chunk 3
    flipped[at] = (flipped[at] as number) ^ 1;
    const cases: [string, Buffer, string][] = [
      ['a flipped byte in block 5', flipped, 'age_payload_corrupt'],
      ['cut at a block boundary', file.subarray(0, headerAndNonce + 4 * SEALED_BLOCK), 'age_truncated'],
      [
        'cut inside a chunk',
        file.subarray(0, headerAndNonce + 4 * SEALED_BLOCK + 1000),
        'age_payload_corrupt',
      ],
      ['bytes appended', Buffer.concat([file, Buffer.from('\n')]), 'age_trailing_data'],
      // Beyond the 1 KiB the stream looks back for a valid final chunk: corruption, as for the stream.
      ['a whole block appended', Buffer.concat([file, file.subarray(-SEALED_BLOCK)]), 'age_payload_corrupt'],
    ];
    for (const [what, bad, code] of cases) {
      const streamed = await openStreaming([me.identity], bad, MiB);
      const opened = await openUnsealing([me.identity], bad);
      expect([what, (streamed.error as { code?: string }).code]).toEqual([what, code]);
      expectCode(opened.error, code);
      expect(plain.subarray(0, opened.released.length).equals(opened.released), what).toBe(true);
      expect(opened.released.length, what).toBeLessThan(plain.length);
    }
  });

  it('two files at once (the kept block threads and two more), then one alone again', async () => {
    const a = await sealed(8 * MiB + 1);
    const b = await sealed(8 * MiB + 2);
    const [oa, ob] = await Promise.all([
      openUnsealing([me.identity], a.file),
      openUnsealing([me.identity], b.file),
    ]);
    expect(oa.released.equals(a.plain) && ob.released.equals(b.plain)).toBe(true);
    expect([oa.stats, ob.stats]).toEqual([a.stats, b.stats]);
    const again = await openUnsealing([me.identity], b.file);
    expect(again.released.equals(b.plain)).toBe(true);
  });

  it('as an async iterable: owned copies in order, the stats at the end, and an early stop', async () => {
    const { plain, stats } = await sealed(9 * MiB + 3);
    const path = join(dir, `out-${9 * MiB + 3}.age`);
    let got: SealStats | null = null;
    const blocks: Buffer[] = [];
    for await (const b of unsealedBlocks(path, [me.identity], (s) => (got = s))) blocks.push(b);
    expect(Buffer.concat(blocks).equals(plain)).toBe(true);
    expect(got).toEqual(stats);
    let seen = 0;
    for await (const b of unsealedBlocks(path, [me.identity], () => undefined)) {
      seen += b.length;
      break;
    }
    expect(seen).toBe(MiB);
  });

  it('reusing its buffers: each block wiped once the next is asked for, a few buffers in all', async () => {
    const { plain, stats } = await sealed(9 * MiB + 3);
    const path = join(dir, `out-${9 * MiB + 3}.age`);
    let got: SealStats | null = null;
    const copies: Buffer[] = [];
    const seen: Buffer[] = [];
    for await (const b of unsealedBlocks(path, [me.identity], (s) => (got = s), { reuse: true })) {
      copies.push(Buffer.from(b));
      seen.push(b);
    }
    expect(Buffer.concat(copies).equals(plain)).toBe(true);
    expect(got).toEqual(stats);
    expect(new Set(seen.map((b) => b.buffer)).size).toBeLessThanOrEqual(4);
    expect(seen.every((b) => b.every((x) => x === 0))).toBe(true);
    // Stopped early: the block the consumer held is wiped too.
    let held: Buffer | undefined;
    for await (const b of unsealedBlocks(path, [me.identity], () => undefined, { reuse: true })) {
      held = b;
      break;
    }
    expect(held?.length).toBe(MiB);
    expect(held?.every((x) => x === 0)).toBe(true);
  });
});
