/**
 * Every error code of the age layer, each triggered by a crafted bad input: truncation at
 * many offsets (chunk boundary included), flipped bytes in header and payload, the wrong
 * identity, appended bytes, and bad keys. Streaming, whole-buffer and file (unsealFile)
 * decryption must agree.
 */
import { describe, expect, it } from 'vitest';
import { isObscuraError } from '../../src/common/errors.ts';
import { decodeBase64, encodeBase64 } from '../../src/crypto/age/format.ts';
import {
  checkHeader,
  decryptStream,
  decryptToBuffer,
  encryptStream,
  generateIdentity,
  inspectHeader,
} from '../../src/crypto/index.ts';
import { expectCode, expectThrowsCode, openStreaming, openUnsealing, seal } from './helpers.ts';

const K = 64 * 1024;
const SEALED = K + 16;
const me = generateIdentity();
const plain = (n: number): Buffer => Buffer.alloc(n, 0x61);

/** Decrypt three ways (stream, buffer, file); all must fail with the same code, which is returned. */
async function failure(file: Uint8Array, identities = [me.identity]): Promise<string> {
  const streamed = await openStreaming(identities, file, 10_000);
  const unsealed = await openUnsealing(identities, file);
  let whole: unknown = null;
  try {
    await decryptToBuffer(identities, file);
  } catch (e) {
    whole = e;
  }
  expect(isObscuraError(streamed.error), `stream failed with ${String(streamed.error)}`).toBe(true);
  expect(isObscuraError(whole), `buffer failed with ${String(whole)}`).toBe(true);
  const code = (streamed.error as { code: string }).code;
  expect((whole as { code: string }).code).toBe(code);
  expectCode(unsealed.error, code);
  return code;
}

const fileOf = async (n: number): Promise<Buffer> => seal([me.recipient], plain(n));

describe('error codes', () => {
  it('statuses: 400 for bad input keys and non-age files, 422 for damaged sealed files', async () => {
    const file = await fileOf(10);
    for (const [fn, code, status] of [
      [() => encryptStream(['age1nope']), 'invalid_recipient', 400],
      [() => decryptStream(['nope']), 'invalid_identity', 400],
      [() => checkHeader([me.identity], Buffer.from('hello')), 'age_header_invalid', 400],
      [() => checkHeader([generateIdentity().identity], file), 'age_no_matching_identity', 422],
    ] as const) {
      try {
        fn();
        expect.unreachable();
      } catch (e) {
        expectCode(e, code);
        expect((e as { status: number }).status).toBe(status);
      }
    }
  });

  it('invalid_recipient / invalid_identity, also for empty lists', async () => {
    await expectThrowsCode(() => encryptStream([]), 'invalid_recipient');
    await expectThrowsCode(() => encryptStream([me.recipient, 'age1qqqq']), 'invalid_recipient');
    await expectThrowsCode(() => decryptStream([]), 'invalid_identity');
    await expectThrowsCode(() => decryptToBuffer(['AGE-SECRET-KEY-1'], Buffer.alloc(0)), 'invalid_identity');
    await expectThrowsCode(() => checkHeader([me.recipient], Buffer.alloc(0)), 'invalid_identity');
  });

  it('age_header_invalid: not an age file, a malformed X25519 stanza', async () => {
    expect(await failure(Buffer.from('PAR1 this is a parquet file, not age'))).toBe('age_header_invalid');
    const file = await fileOf(10);
    const text = file.toString('latin1');
    // An X25519 stanza whose share has an extra argument is malformed even if it is not ours.
    const extraArg = Buffer.from(text.replace(/^(-> X25519 \S+)/m, '$1 extra'), 'latin1');
    expect(await failure(extraArg)).toBe('age_header_invalid');
  });

  it('age_no_matching_identity: sealed to someone else', async () => {
    expect(await failure(await fileOf(10), [generateIdentity().identity])).toBe('age_no_matching_identity');
  });

  it('age_header_mac: a changed MAC, or a changed byte anywhere in a stanza', async () => {
    const file = await fileOf(10);
    const { headerBytes } = inspectHeader(file);
    const macText = file.subarray(headerBytes - 44, headerBytes - 1).toString('latin1');
    const mac = decodeBase64(macText);
    mac[5] = (mac[5] as number) ^ 1;
    const tampered = Buffer.concat([
      file.subarray(0, headerBytes - 44),
      Buffer.from(encodeBase64(mac), 'latin1'),
      file.subarray(headerBytes - 1),
    ]);
    expect(await failure(tampered)).toBe('age_header_mac');
    // Add a grease stanza an attacker might insert: the MAC catches it.
    const greased = Buffer.from(file.toString('latin1').replace('\n---', '\n-> grease x\n\n---'), 'latin1');
    expect(await failure(greased)).toBe('age_header_mac');
  });

  it('flipping any header bit fails (never decrypts), with a header error', async () => {
    const file = await fileOf(100);
    const { headerBytes } = inspectHeader(file);
    const seen = new Set<string>();
    for (let i = 0; i < headerBytes; i++) {
      for (const bit of [0x01, 0x20]) {
        const bad = Buffer.from(file);
        bad[i] = (bad[i] as number) ^ bit;
        const streamed = await openStreaming([me.identity], bad);
        expect(streamed.released.length).toBe(0);
        expect(isObscuraError(streamed.error)).toBe(true);
        seen.add((streamed.error as { code: string }).code);
      }
    }
    expect([...seen].sort()).toEqual(['age_header_invalid', 'age_header_mac', 'age_no_matching_identity']);
  });

  it('age_payload_corrupt: a flipped byte in the nonce, a chunk, or a tag', async () => {
    const file = await fileOf(2 * K + 100);
    const start = inspectHeader(file).headerBytes;
    for (const at of [
      start,
      start + 15,
      start + 16,
      start + 16 + K,
      start + 16 + SEALED + 7,
      file.length - 1,
    ]) {
      const bad = Buffer.from(file);
      bad[at] = (bad[at] as number) ^ 0x80;
      expect(await failure(bad), `flip at ${at - start}`).toBe('age_payload_corrupt');
    }
    // The first chunk is intact when the second is damaged: it is released, nothing after it.
    const bad = Buffer.from(file);
    bad[start + 16 + SEALED + 7] = (bad[start + 16 + SEALED + 7] as number) ^ 0x80;
    expect((await openStreaming([me.identity], bad)).released.equals(plain(K))).toBe(true);
  });

  it('age_truncated: inside the header, the nonce, at a chunk boundary, or with no payload', async () => {
    const file = await fileOf(2 * K + 100);
    const start = inspectHeader(file).headerBytes;
    for (const n of [
      5,
      40,
      start - 1,
      start,
      start + 8,
      start + 16,
      start + 16 + 10,
      start + 16 + SEALED,
      start + 16 + 2 * SEALED,
    ]) {
      expect(await failure(file.subarray(0, n)), `truncated to ${n - start} after the header`).toBe(
        'age_truncated',
      );
    }
  });

  it('a cut inside a chunk cannot be told from corruption: age_payload_corrupt', async () => {
    const file = await fileOf(2 * K + 100);
    const start = inspectHeader(file).headerBytes;
    for (const n of [start + 16 + 100, start + 16 + SEALED + 50, file.length - 1]) {
      expect(await failure(file.subarray(0, n))).toBe('age_payload_corrupt');
    }
  });

  it('age_trailing_data: bytes appended after the final chunk', async () => {
    for (const n of [0, 10, K - 1, K, 2 * K]) {
      const file = await fileOf(n);
      for (const extra of [1, 16, 100, 1024]) {
        const appended = Buffer.concat([file, Buffer.alloc(extra, 0x0a)]);
        expect(await failure(appended), `${n} bytes + ${extra}`).toBe('age_trailing_data');
      }
    }
    // After a full final chunk, any amount is recognised, even a whole second file.
    const full = await fileOf(K);
    expect(await failure(Buffer.concat([full, await fileOf(3 * K)]))).toBe('age_trailing_data');
  });

  it('messages never carry plaintext', async () => {
    const secret = Buffer.from('SECRET-ROW-VALUE '.repeat(10));
    const file = await seal([me.recipient], secret);
    const bad = Buffer.from(file);
    bad[bad.length - 3] = (bad[bad.length - 3] as number) ^ 1;
    const { error } = await openStreaming([me.identity], bad);
    expect(String((error as Error).message)).not.toContain('SECRET');
  });
});
