/**
 * The user's account in the page, from their key file (`obscura keys new`), read from disk
 * by the browser and kept in this page's memory only: never stored, never sent. It signs as
 * the CLI's key does (sr25519 over the same bytes), and knows the age recipient results for
 * the account are sealed to, derived as src/crypto/result-key.ts derives it, and opens them.
 */
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
// @noble/* come with @polkadot/util-crypto, which depends on them; HKDF and X25519 as node:crypto does them.
import { x25519 } from '@noble/curves/ed25519';
import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha2';
import { bech32 } from '@scure/base';
import { openAge } from './age-open.ts';
import { KeyFileError } from './signin.ts';
import { AccountKeyFileSchema, type AccountKey, SS58_PREFIX } from '../../../../crypto/keys.ts';

/** Same salt and info as src/crypto/result-key.ts. */
const RESULT_KEY_SALT = 'obscura-result-key/1';
const RESULT_KEY_INFO = 'age X25519 identity';

/** An account from key file text; throws KeyFileError naming the bad field. */
export async function accountFromKeyFile(text: string): Promise<AccountKey> {
  await cryptoWaitReady();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KeyFileError('not a key file (not JSON)');
  }
  const parsed = AccountKeyFileSchema.safeParse(json);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))];
    throw new KeyFileError(`not a key file (bad field: ${fields.join(', ')})`);
  }
  const pair = new Keyring({ type: 'sr25519', ss58Format: SS58_PREFIX }).addFromMnemonic(
    parsed.data.mnemonic,
  );
  if (pair.address !== parsed.data.address || u8aToHex(pair.publicKey) !== parsed.data.publicKey)
    throw new KeyFileError('the key file address does not match its mnemonic');
  // The result identity's scalar, derived when needed and wiped after use.
  const withScalar = <T>(use: (scalar: Uint8Array) => T): T => {
    const secret = pair.encodePkcs8();
    const scalar = hkdf(sha256, secret, RESULT_KEY_SALT, RESULT_KEY_INFO, 32);
    secret.fill(0);
    try {
      return use(scalar);
    } finally {
      scalar.fill(0);
    }
  };
  const resultRecipient = withScalar((s) =>
    bech32.encode('age', bech32.toWords(x25519.getPublicKey(s)), false),
  );
  return {
    address: pair.address,
    publicKey: u8aToHex(pair.publicKey),
    resultRecipient,
    sign: (message: Uint8Array) => u8aToHex(pair.sign(message)),
    // Buffer here is the page's stand-in (buffer-shim.ts): the bytes with Buffer's toString.
    decryptResult: async (ciphertext: Uint8Array) => Buffer.from(withScalar((s) => openAge(ciphertext, s))),
  };
}
