/**
 * Account keys (src/crypto/keys.ts): key files (mode 0600, atomic, no silent overwrite,
 * strict validation that never echoes content), sr25519 signatures, SS58 addresses.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AccountKeyFileSchema,
  accountKeyFromSuri,
  createKeyFile,
  cryptoReady,
  isValidAddress,
  decryptToBuffer,
  encryptToBuffer,
  identityToRecipient,
  loadAccountKey,
  loadResultIdentity,
  verifyAccountSignature,
} from '../../src/crypto/index.ts';
import { expectThrowsCode } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'obscura-keys-'));
beforeAll(() => cryptoReady());
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Well-known dev account //Alice (sr25519, SS58 prefix 42).
const ALICE = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const message = new TextEncoder().encode('obscura test message');

describe('account keys', () => {
  it('cryptoReady is idempotent', async () => {
    await Promise.all([cryptoReady(), cryptoReady()]);
    expect(cryptoReady()).toBe(cryptoReady());
  });

  it('creates a key file with mode 0600 that loads back and signs', async () => {
    const path = join(dir, 'owner.json');
    const { address } = await createKeyFile(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const file = AccountKeyFileSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
    expect(file).toMatchObject({ obscura: 'account-key/1', type: 'sr25519', address });
    expect(file.mnemonic.split(' ')).toHaveLength(24);
    expect(isValidAddress(address)).toBe(true);

    const key = await loadAccountKey(path);
    expect(key.address).toBe(address);
    expect(key.publicKey).toBe(file.publicKey);
    const signature = key.sign(message);
    expect(signature).toMatch(/^0x[0-9a-f]{128}$/);
    expect(verifyAccountSignature(address, message, signature)).toBe(true);
    expect(Object.keys(key).sort()).toEqual([
      'address',
      'decryptResult',
      'publicKey',
      'resultRecipient',
      'sign',
    ]); // no secret on the object
  });

  it('derives the same age result identity from a key file every time, and it opens what is sealed to the recipient', async () => {
    const path = join(dir, 'analyst.json');
    await createKeyFile(path);
    const key = await loadAccountKey(path);
    const a = await loadResultIdentity(path);
    const b = await loadResultIdentity(path);
    expect(a).toEqual(b);
    expect(a.identity).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
    expect(a.recipient).toBe(key.resultRecipient);
    expect(identityToRecipient(a.identity)).toBe(a.recipient);
    const sealed = await encryptToBuffer([key.resultRecipient], message);
    expect(Buffer.from(await decryptToBuffer([a.identity], sealed)).equals(Buffer.from(message))).toBe(true);
    expect(Buffer.from(await key.decryptResult(sealed)).equals(Buffer.from(message))).toBe(true);
    // Another account derives another identity, which cannot open it.
    const other = join(dir, 'other-analyst.json');
    await createKeyFile(other);
    const o = await loadResultIdentity(other);
    expect(o.recipient).not.toBe(a.recipient);
    await expect(decryptToBuffer([o.identity], sealed)).rejects.toThrow();
    await expect((await loadAccountKey(other)).decryptResult(sealed)).rejects.toThrow();
    // The same account from a secret URI derives the same recipient each time, and dev accounts differ.
    expect((await accountKeyFromSuri('//Alice')).resultRecipient).toBe(
      (await accountKeyFromSuri('//Alice')).resultRecipient,
    );
    expect((await accountKeyFromSuri('//Alice')).resultRecipient).not.toBe(
      (await accountKeyFromSuri('//Bob')).resultRecipient,
    );
  });

  it('refuses to derive a result identity from a bad key file, naming the path only', async () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{"obscura":"account-key/1"}');
    await expectThrowsCode(() => loadResultIdentity(path), 'key_file_invalid');
  });

  it('refuses to overwrite unless forced, and leaves no temporary file', async () => {
    const path = join(dir, 'twice.json');
    const first = await createKeyFile(path);
    await expectThrowsCode(() => createKeyFile(path), 'key_file_exists');
    expect((await loadAccountKey(path)).address).toBe(first.address);
    const second = await createKeyFile(path, { force: true });
    expect(second.address).not.toBe(first.address);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect((await loadAccountKey(path)).address).toBe(second.address);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('key_file_exists is a 409', async () => {
    const path = join(dir, 'exists.json');
    writeFileSync(path, '{}');
    await expect(createKeyFile(path)).rejects.toMatchObject({
      code: 'key_file_exists',
      status: 409,
      message: expect.stringContaining('(obscura keys new --force replaces it)'),
    });
  });

  it.each([
    ['missing', null],
    ['not JSON', 'hello'],
    ['the wrong kind', JSON.stringify({ obscura: 'manifest/1' })],
    ['a bad mnemonic', 'BAD_MNEMONIC'],
    ['a mismatched address', 'MISMATCH'],
  ])(
    'key_file_invalid for a file that is %s, naming the path but not the content',
    async (_name, content) => {
      const path = join(dir, `bad-${_name.replace(/\W/g, '')}.json`);
      if (content === 'BAD_MNEMONIC' || content === 'MISMATCH') {
        const good = join(dir, `good-${_name.replace(/\W/g, '')}.json`);
        await createKeyFile(good);
        const json = JSON.parse(readFileSync(good, 'utf8'));
        if (content === 'BAD_MNEMONIC') json.mnemonic = 'secret words that are not a mnemonic at all';
        else json.address = ALICE;
        writeFileSync(path, JSON.stringify(json));
      } else if (content !== null) {
        writeFileSync(path, content);
      }
      try {
        await loadAccountKey(path);
        expect.unreachable();
      } catch (e) {
        expect(e).toMatchObject({ code: 'key_file_invalid' });
        const msg = (e as Error).message;
        expect(msg).toContain(path);
        expect(msg).not.toMatch(/secret words|hello|manifest\/1/);
      }
    },
  );

  it('accountKeyFromSuri gives the dev accounts, and refuses a bad URI without echoing it', async () => {
    const alice = await accountKeyFromSuri('//Alice');
    expect(alice.address).toBe(ALICE);
    expect(verifyAccountSignature(ALICE, message, alice.sign(message))).toBe(true);
    for (const bad of ['garbage', 'not a valid mnemonic', '0x1234', '', 'bottom drive obey lake']) {
      const error = await accountKeyFromSuri(bad).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'invalid_suri' });
      if (bad) expect((error as Error).message).not.toContain(bad);
    }
    const fromMnemonic = await accountKeyFromSuri(
      'bottom drive obey lake curtain smoke basket hold race lonely fit walk//Alice',
    );
    expect(fromMnemonic.address).toBe(ALICE);
  });

  it('a tampered message, another signer, or malformed input never verifies (and never throws)', async () => {
    const alice = await accountKeyFromSuri('//Alice');
    const bob = await accountKeyFromSuri('//Bob');
    const sig = alice.sign(message);
    const tampered = Uint8Array.from(message);
    tampered[0] = (tampered[0] as number) ^ 1;
    expect(verifyAccountSignature(ALICE, tampered, sig)).toBe(false);
    expect(verifyAccountSignature(bob.address, message, sig)).toBe(false);
    const flipped = sig.slice(0, 10) + (sig[10] === 'a' ? 'b' : 'a') + sig.slice(11);
    expect(verifyAccountSignature(ALICE, message, flipped)).toBe(false);
    for (const [a, m, s] of [
      ['not-an-address', message, sig],
      [ALICE, message, '0x1234'],
      [ALICE, message, 'zz'],
      [ALICE, 'text' as unknown as Uint8Array, sig],
      [null as unknown as string, message, sig],
      [ALICE, message, undefined as unknown as string],
    ] as const) {
      expect(verifyAccountSignature(a, m, s)).toBe(false);
    }
  });

  it('isValidAddress accepts SS58 prefix 42 only', async () => {
    const { encodeAddress, decodeAddress } = await import('@polkadot/util-crypto');
    expect(isValidAddress(ALICE)).toBe(true);
    expect(isValidAddress(encodeAddress(decodeAddress(ALICE), 2))).toBe(false);
    expect(isValidAddress(`${ALICE.slice(0, -1)}Z`)).toBe(false);
    expect(isValidAddress('0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d')).toBe(false);
    expect(isValidAddress('')).toBe(false);
    expect(isValidAddress(42 as unknown as string)).toBe(false);
  });
});
