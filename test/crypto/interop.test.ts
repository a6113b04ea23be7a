/**
 * Interoperability, both directions, with two independent age implementations: the
 * `age-encryption` npm package (typage, the reference TypeScript implementation) and the
 * Debian `age` tool (the reference Go implementation). Keys made by either side are used by
 * the other. The `age` tests are skipped, saying why, when the tool is not on PATH.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as typage from 'age-encryption';
import { afterAll, describe, expect, it } from 'vitest';
import { decryptToBuffer, generateIdentity, identityToRecipient, sealFile } from '../../src/crypto/index.ts';
import { hasAgeTool, seal } from './helpers.ts';

const K = 64 * 1024;
const SIZES = [0, 1, K - 1, K, K + 1, 2 * K, 200_000];
const dir = mkdtempSync(join(tmpdir(), 'obscura-interop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('interop with age-encryption (typage)', () => {
  it('keys: the same recipient for the same identity, both ways', async () => {
    const theirs = await typage.generateX25519Identity();
    expect(identityToRecipient(theirs)).toBe(await typage.identityToRecipient(theirs));
    const ours = generateIdentity();
    expect(await typage.identityToRecipient(ours.identity)).toBe(ours.recipient);
  });

  for (const n of SIZES) {
    it(`${n} bytes: ours → typage and typage → ours`, async () => {
      const plain = randomBytes(n);
      const ours = generateIdentity();
      const theirs = await typage.generateX25519Identity();
      const theirRecipient = await typage.identityToRecipient(theirs);

      const sealed = await seal([ours.recipient, theirRecipient], plain);
      const d = new typage.Decrypter();
      d.addIdentity(theirs);
      expect(Buffer.from(await d.decrypt(sealed)).equals(plain)).toBe(true);

      const e = new typage.Encrypter();
      e.addRecipient(ours.recipient);
      const fromTypage = await e.encrypt(plain);
      expect((await decryptToBuffer([ours.identity], fromTypage)).equals(plain)).toBe(true);
    });
  }

  it('typage streaming output (ReadableStream) opens with ours', async () => {
    const plain = randomBytes(3 * K + 17);
    const ours = generateIdentity();
    const e = new typage.Encrypter();
    e.addRecipient(ours.recipient);
    const stream = await e.encrypt(new Blob([plain]).stream());
    const sealed = Buffer.from(await new Response(stream).arrayBuffer());
    expect((await decryptToBuffer([ours.identity], sealed)).equals(plain)).toBe(true);
  });
});

/** Run `age` with `args` (stdin `input`); returns stdout, throws with stderr on failure. */
function age(args: string[], input?: Uint8Array): Buffer {
  const r = spawnSync('age', args, { input, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`age ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout;
}

describe.skipIf(!hasAgeTool)(
  'interop with the age tool (skipped when `age` is not on PATH: apt-get install age)',
  () => {
    for (const n of SIZES) {
      it(`${n} bytes: ours → age -d and age -r → ours`, async () => {
        const plain = randomBytes(n);
        const ours = generateIdentity();
        const keyFile = join(dir, `key-${n}.txt`);
        writeFileSync(keyFile, `# created by a test\n# public key: ${ours.recipient}\n${ours.identity}\n`, {
          mode: 0o600,
        });

        const sealed = await seal([ours.recipient], plain);
        expect(age(['-d', '-i', keyFile], sealed).equals(plain)).toBe(true);

        const fromAge = age(['-r', ours.recipient], plain);
        expect((await decryptToBuffer([ours.identity], fromAge)).equals(plain)).toBe(true);
      });
    }

    it('age-keygen keys work with ours, and multi-recipient files open for each recipient', async () => {
      const keyFile = join(dir, 'keygen.txt');
      spawnSync('age-keygen', ['-o', keyFile]);
      const theirIdentity = readFileSync(keyFile, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('AGE-SECRET-KEY-1')) as string;
      const theirRecipient = spawnSync('age-keygen', ['-y', keyFile]).stdout.toString().trim();
      expect(identityToRecipient(theirIdentity)).toBe(theirRecipient);

      const ours = generateIdentity();
      const plain = randomBytes(K + 5);
      const fromAge = age(['-r', theirRecipient, '-r', ours.recipient], plain);
      expect((await decryptToBuffer([ours.identity], fromAge)).equals(plain)).toBe(true);
      expect((await decryptToBuffer([theirIdentity], fromAge)).equals(plain)).toBe(true);

      const sealed = await seal([ours.recipient, theirRecipient], plain);
      expect(age(['-d', '-i', keyFile], sealed).equals(plain)).toBe(true);
    });

    // 3 MiB hashes inline; 9 MiB hashes in the worker thread (the path every large file takes).
    for (const n of [3 * 1024 * 1024 + 11, 9 * 1024 * 1024 + 11]) {
      it(`sealFile output (${n} bytes) opens with age, and its ciphertext hash is the file’s`, async () => {
        const ours = generateIdentity();
        const keyFile = join(dir, 'seal-key.txt');
        writeFileSync(keyFile, `${ours.identity}\n`, { mode: 0o600 });
        const input = join(dir, 'plain.bin');
        const output = join(dir, 'plain.bin.age');
        const plain = randomBytes(n);
        writeFileSync(input, plain);
        const stats = await sealFile(input, output, [ours.recipient]);
        expect(age(['-d', '-i', keyFile, output]).equals(plain)).toBe(true);
        expect(stats.ciphertextBytes).toBe(readFileSync(output).length);
        expect(stats.ciphertextSha256).toBe(createHash('sha256').update(readFileSync(output)).digest('hex'));
      });
    }
  },
);
