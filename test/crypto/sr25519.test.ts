/**
 * The light sr25519 path (sr25519.ts, what key files load with, free of the @polkadot
 * barrels for start-up time) must give exactly what polkadot-js gives: the same key pair,
 * address, result identity and interoperable signatures, and the same verdicts on mnemonics
 * and addresses.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { entropyToMnemonic } from '@polkadot/util-crypto/mnemonic/bip39';
import {
  checkAddress,
  cryptoWaitReady,
  encodeAddress,
  mnemonicGenerate,
  mnemonicValidate,
  sr25519Verify,
} from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isValidAddress, loadAccountKey, verifyAccountSignature } from '../../src/crypto/keys.ts';
import { resultIdentityFromSecret } from '../../src/crypto/result-key.ts';
import {
  decodeSs58,
  encodeSs58,
  isMnemonic,
  mnemonicEntropy,
  mnemonicFromEntropy,
  pairFromMnemonic,
  signSr25519,
  verifySr25519,
} from '../../src/crypto/sr25519.ts';

const dir = mkdtempSync(join(tmpdir(), 'obscura-sr25519-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await cryptoWaitReady();
});

const keyring = () => new Keyring({ type: 'sr25519', ss58Format: 42 });
const message = new TextEncoder().encode('GET /v1/results/r1 1700000000000');

describe('sr25519 without the @polkadot barrels', () => {
  it('derives the key pair, address and result identity polkadot-js derives, for 12 to 24 words', async () => {
    for (const words of [12, 15, 18, 21, 24] as const) {
      const mnemonic = mnemonicGenerate(words);
      const theirs = keyring().addFromMnemonic(mnemonic);
      const ours = pairFromMnemonic(mnemonic);
      expect(Buffer.from(ours.publicKey).toString('hex')).toBe(Buffer.from(theirs.publicKey).toString('hex'));
      expect(encodeSs58(ours.publicKey, 42)).toBe(theirs.address);
      const file = join(dir, `k${words}.json`);
      const publicKey = `0x${Buffer.from(theirs.publicKey).toString('hex')}`;
      writeFileSync(
        file,
        JSON.stringify({
          obscura: 'account-key/1',
          type: 'sr25519',
          address: theirs.address,
          publicKey,
          mnemonic,
        }),
      );
      const key = await loadAccountKey(file);
      expect(key.address).toBe(theirs.address);
      expect(key.resultRecipient).toBe(resultIdentityFromSecret(theirs.encodePkcs8()).recipient);
      // Signatures interoperate both ways.
      expect(sr25519Verify(message, key.sign(message), theirs.publicKey)).toBe(true);
      expect(verifySr25519(message, theirs.sign(message), ours.publicKey)).toBe(true);
      expect(verifyAccountSignature(theirs.address, message, key.sign(message))).toBe(true);
      expect(verifySr25519(message, signSr25519(ours, new Uint8Array([1])), ours.publicKey)).toBe(false);
    }
  });

  it('judges mnemonics as mnemonicValidate does', () => {
    const good = mnemonicGenerate(24);
    const words = good.split(' ');
    const swapped = [...words.slice(0, -1), words.at(-1) === 'zoo' ? 'zone' : 'zoo'].join(' ');
    for (const m of [
      good,
      mnemonicGenerate(12),
      swapped,
      words.slice(0, 23).join(' '),
      `${good} `,
      'x y z',
      '',
    ])
      expect(isMnemonic(m), m.slice(0, 20)).toBe(mnemonicValidate(m));
  });

  it('makes the mnemonic polkadot-js makes of the same entropy, for 12 to 24 words', () => {
    for (const bytes of [16, 20, 24, 28, 32, 32, 32]) {
      const entropy = randomBytes(bytes);
      const mine = mnemonicFromEntropy(entropy);
      expect(mine).toBe(entropyToMnemonic(entropy));
      expect(mnemonicValidate(mine)).toBe(true);
      expect(mnemonicEntropy(mine)?.equals(entropy)).toBe(true);
    }
    expect(() => mnemonicFromEntropy(randomBytes(15))).toThrow();
  });

  it('judges addresses as checkAddress does (prefix 42, 32-byte keys, checksum)', () => {
    const pair = keyring().addFromMnemonic(mnemonicGenerate(12));
    const flipped = `${pair.address.slice(0, -1)}${pair.address.endsWith('a') ? 'b' : 'a'}`;
    const cases = [pair.address, encodeAddress(pair.publicKey, 0), flipped, '0x00', 'not-base58!', ''];
    for (const a of cases) {
      const theirs = a !== '' && checkAddress(a, 42)[0];
      expect(decodeSs58(a, 42) !== null, a).toBe(theirs);
      expect(isValidAddress(a), a).toBe(theirs);
    }
  });
});
