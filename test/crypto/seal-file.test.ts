/**
 * sealFile: the commitments it returns, atomic replacement, cleanup on failure, and both of
 * its hashing paths (inline for small files, a worker thread from 8 MiB).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decryptStream, decryptToBuffer, generateIdentity, sealFile } from '../../src/crypto/index.ts';
import { expectThrowsCode, hasAgeTool } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'obscura-sealfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const me = generateIdentity();
const K = 64 * 1024;
const MiB = 1024 * 1024;

describe('sealFile', () => {
  // 0 and sizes around a chunk and a 1 MiB block; from 8 MiB the two block workers, ending in a
  // full block, a full chunk or a short one.
  for (const n of [
    0,
    1,
    K,
    K + 1,
    MiB - 1,
    MiB,
    MiB + 1,
    2 * MiB,
    8 * MiB,
    8 * MiB + 1,
    9 * MiB + K,
    11 * MiB + 7,
  ]) {
    it(`${n} bytes: stats match the files and the result decrypts`, async () => {
      const plain = randomBytes(n);
      const input = join(dir, `in-${n}`);
      const output = join(dir, `out-${n}.age`);
      writeFileSync(input, plain);
      const stats = await sealFile(input, output, [me.recipient]);
      const sealed = readFileSync(output);
      expect(stats).toEqual({
        plaintextSha256: sha256(plain),
        ciphertextSha256: sha256(sealed),
        plaintextBytes: n,
        ciphertextBytes: sealed.length,
      });
      expect((await decryptToBuffer([me.identity], sealed)).equals(plain)).toBe(true);
    });
  }

  it('replaces an existing output atomically and leaves no temporary file', async () => {
    const sub = join(dir, 'replace');
    mkdirSync(sub);
    writeFileSync(join(sub, 'in'), 'new rows');
    writeFileSync(join(sub, 'out.age'), 'old content');
    await sealFile(join(sub, 'in'), join(sub, 'out.age'), [me.recipient]);
    expect((await decryptToBuffer([me.identity], readFileSync(join(sub, 'out.age')))).toString()).toBe(
      'new rows',
    );
    expect(readdirSync(sub).sort()).toEqual(['in', 'out.age']);
  });

  it('on failure leaves no temporary file and the old output untouched', async () => {
    const sub = join(dir, 'fail');
    mkdirSync(sub);
    writeFileSync(join(sub, 'out.age'), 'old content');
    // Missing input: the fs error comes through.
    await expect(sealFile(join(sub, 'missing'), join(sub, 'out.age'), [me.recipient])).rejects.toMatchObject({
      code: 'ENOENT',
    });
    // Input is a directory: reading fails after the temporary file exists.
    await expect(sealFile(sub, join(sub, 'out.age'), [me.recipient])).rejects.toMatchObject({
      code: 'EISDIR',
    });
    // Bad recipient: refused before any file is touched.
    writeFileSync(join(sub, 'in'), 'rows');
    await expectThrowsCode(
      () => sealFile(join(sub, 'in'), join(sub, 'out.age'), ['age1nope']),
      'invalid_recipient',
    );
    expect(readdirSync(sub).sort()).toEqual(['in', 'out.age']);
    expect(readFileSync(join(sub, 'out.age'), 'utf8')).toBe('old content');
  });

  // A parent that is a file refuses the output for every user, root included (a read-only
  // directory would not stop root, and the test would have to skip there).
  it('fails cleanly when the output cannot be created, leaving nothing beside it', async () => {
    const sub = join(dir, 'not-a-dir');
    writeFileSync(sub, 'a file where a directory should be');
    writeFileSync(join(dir, 'ro-in'), 'rows');
    const before = readdirSync(dir).sort();
    await expect(sealFile(join(dir, 'ro-in'), join(sub, 'out.age'), [me.recipient])).rejects.toMatchObject({
      code: 'ENOTDIR',
    });
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(readFileSync(sub, 'utf8')).toBe('a file where a directory should be');
  });

  it('a block callback that throws mid-file (worker path) fails the seal cleanly', async () => {
    const sub = join(dir, 'abort');
    mkdirSync(sub);
    writeFileSync(join(sub, 'in'), randomBytes(10 * MiB));
    let blocks = 0;
    await expect(
      sealFile(join(sub, 'in'), join(sub, 'out.age'), [me.recipient], {
        onBlock: () => {
          if (++blocks === 4) throw new Error('bad row in block 4');
        },
      }),
    ).rejects.toThrow('bad row in block 4');
    expect(readdirSync(sub)).toEqual(['in']);
  });

  it('seals to several recipients', async () => {
    const other = generateIdentity();
    const input = join(dir, 'multi');
    writeFileSync(input, 'shared rows');
    await sealFile(input, `${input}.age`, [me.recipient, other.recipient]);
    const sealed = readFileSync(`${input}.age`);
    expect((await decryptToBuffer([other.identity], sealed)).toString()).toBe('shared rows');
    expect((await decryptToBuffer([me.identity], sealed)).toString()).toBe('shared rows');
  });

  it.skipIf(!process.env.SLOW)(
    'SLOW: 300 MB through sealFile, decryptStream and (if installed) the age tool',
    async () => {
      const input = join(dir, 'big.bin');
      const output = join(dir, 'big.bin.age');
      const out = createWriteStream(input);
      const plainHash = createHash('sha256');
      for (let i = 0; i < 75; i++) {
        const block = randomBytes(4 * MiB);
        plainHash.update(block);
        if (!out.write(block)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
      await new Promise<void>((r) => out.end(() => r()));
      const stats = await sealFile(input, output, [me.recipient]);
      expect(stats.plaintextSha256).toBe(plainHash.digest('hex'));
      const opened = createHash('sha256');
      await pipeline(
        createReadStream(output, { highWaterMark: MiB }),
        decryptStream([me.identity]),
        new Writable({
          write: (chunk: Buffer, _enc, cb) => {
            opened.update(chunk);
            cb();
          },
        }),
      );
      expect(opened.digest('hex')).toBe(stats.plaintextSha256);
      if (hasAgeTool) {
        const keyFile = join(dir, 'big-key.txt');
        writeFileSync(keyFile, `${me.identity}\n`, { mode: 0o600 });
        const r = spawnSync('sh', ['-c', `age -d -i "${keyFile}" "${output}" | sha256sum`], {
          encoding: 'utf8',
        });
        expect(r.stdout.split(' ')[0]).toBe(stats.plaintextSha256);
      }
    },
    600_000,
  );
});
