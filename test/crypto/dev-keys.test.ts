/**
 * The well-known development accounts (src/crypto/dev-keys.ts) are exactly those polkadot-js's
 * keyring makes from the dev phrase's URIs: dev-keys.ts derives them from the phrase's seed
 * once, and this checks each against the keyring's own addFromUri, both key types.
 */
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, mnemonicGenerate } from '@polkadot/util-crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEV_ACCOUNT_NAMES,
  DEV_PHRASE,
  isDevelopmentAccount,
  isDevelopmentSuri,
} from '../../src/crypto/dev-keys.ts';

const URIS = [
  DEV_PHRASE,
  ...DEV_ACCOUNT_NAMES.flatMap((n) => [`${DEV_PHRASE}//${n}`, `${DEV_PHRASE}//${n}//stash`]),
];

beforeAll(() => cryptoWaitReady());

describe('well-known development accounts', () => {
  it.each(['sr25519', 'ed25519'] as const)(
    'are every %s account addFromUri makes from the dev phrase',
    async (type) => {
      const ring = new Keyring({ type });
      for (const uri of URIS) {
        expect(await isDevelopmentAccount(ring.addFromUri(uri).address), uri).toBe(true);
      }
    },
  );

  it('are not an account of its own, a malformed address or another path of the phrase', async () => {
    const own = mnemonicGenerate();
    expect(await isDevelopmentAccount(new Keyring({ type: 'sr25519' }).addFromUri(own).address)).toBe(false);
    expect(await isDevelopmentAccount('not-an-address')).toBe(false);
    const other = new Keyring({ type: 'sr25519' }).addFromUri(`${DEV_PHRASE}//Zed`);
    expect(await isDevelopmentAccount(other.address)).toBe(false);
  });

  it('are what the development secret URIs name', async () => {
    expect(await isDevelopmentSuri('//Alice')).toBe(true);
    expect(await isDevelopmentSuri(`${DEV_PHRASE}//Bob//stash`)).toBe(true);
    expect(await isDevelopmentSuri(DEV_PHRASE)).toBe(true);
    expect(await isDevelopmentSuri(mnemonicGenerate())).toBe(false);
  });
});
