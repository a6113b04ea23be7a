/**
 * Well-known development keys: the Substrate dev phrase and the accounts every Substrate
 * tool derives from it (//Alice, //Bob, … and their //stash accounts). Their secrets are
 * public, so anyone can sign as them; none may be an operator of a host or of an enclave.
 */
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import {
  decodeAddress,
  ed25519PairFromSeed,
  keyExtractPath,
  keyFromPath,
  mnemonicToMiniSecret,
  sr25519PairFromSeed,
} from '@polkadot/util-crypto';
import { ObscuraError } from '../common/errors.ts';
import { cryptoReady } from './keys.ts';

/** The Substrate development phrase (`DEV_PHRASE` of @polkadot/keyring, `subkey`'s default). */
export const DEV_PHRASE = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';

/** The names the dev phrase's well-known accounts are derived with (`//Name` and `//Name//stash`). */
export const DEV_ACCOUNT_NAMES = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie', 'One', 'Two'] as const;

let devKeys: Set<string> | undefined;

/**
 * Public keys (0x hex) of the dev phrase itself and every well-known derivation, sr25519 and
 * ed25519: what the keyring's addFromUri gives for each (`<phrase>`, `<phrase>//Name`,
 * `<phrase>//Name//stash`). The phrase's seed is computed once and each path derived from it,
 * as addFromUri does for each URI: its BIP39 seed is a 2048-round PBKDF2, and 34 of them cost
 * ~0.3 CPU-s at every host's and every enclave's start (test/crypto/dev-keys.test.ts checks
 * the keys against addFromUri).
 */
async function developmentPublicKeys(): Promise<Set<string>> {
  if (devKeys) return devKeys;
  await cryptoReady();
  const seed = mnemonicToMiniSecret(DEV_PHRASE);
  const keys = new Set<string>();
  for (const [type, fromSeed] of [
    ['sr25519', sr25519PairFromSeed],
    ['ed25519', ed25519PairFromSeed],
  ] as const) {
    const root = fromSeed(seed);
    keys.add(u8aToHex(root.publicKey));
    for (const name of DEV_ACCOUNT_NAMES) {
      for (const path of [`//${name}`, `//${name}//stash`]) {
        keys.add(u8aToHex(keyFromPath(root, keyExtractPath(path).path, type).publicKey));
      }
    }
  }
  devKeys = keys;
  return keys;
}

/** Whether `address` (any SS58 prefix) is one of the well-known development accounts. False for a malformed address. */
export async function isDevelopmentAccount(address: string): Promise<boolean> {
  let key: string;
  try {
    key = u8aToHex(decodeAddress(address));
  } catch {
    return false;
  }
  return (await developmentPublicKeys()).has(key);
}

/**
 * Whether a secret URI is a development key: a bare derivation path (`//Alice`, which
 * polkadot-js applies to the dev phrase), the dev phrase with or without a path, or any URI
 * whose account is a well-known one.
 */
export async function isDevelopmentSuri(suri: string): Promise<boolean> {
  const phrase = (suri.split('/')[0] ?? '').trim().split(/\s+/).join(' ');
  if (phrase === '' || phrase === DEV_PHRASE) return true;
  await cryptoReady();
  try {
    const pair = new Keyring({ type: 'sr25519' }).addFromUri(suri);
    return (await developmentPublicKeys()).has(u8aToHex(pair.publicKey));
  } catch {
    return false;
  }
}

/** Throws 'operator_well_known' (400) when `address` is a development account; `what` names where it came from. */
export async function assertNotDevelopmentAccount(address: string, what: string): Promise<void> {
  if (await isDevelopmentAccount(address)) {
    throw new ObscuraError(
      'operator_well_known',
      `${what} names ${address}, a well-known development account (//Alice, //Bob, … of the public Substrate dev phrase) that anyone can sign as; it cannot be an operator`,
      400,
    );
  }
}

/** Throws 'operator_well_known' (400) when `suri` is a development key; the URI itself is never echoed. */
export async function assertNotDevelopmentSuri(suri: string, what: string): Promise<void> {
  if (await isDevelopmentSuri(suri)) {
    throw new ObscuraError(
      'operator_well_known',
      `${what} is a well-known development key (a //Name path or the public Substrate dev phrase) that anyone can sign with; use an account of your own (obscura keys new)`,
      400,
    );
  }
}
