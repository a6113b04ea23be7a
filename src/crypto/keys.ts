/**
 * Account keys: the sr25519 Substrate accounts that identify Obscura callers (owners,
 * analysts, operators), addressed in SS58 with the generic Substrate prefix 42.
 *
 * A key file is JSON `{ obscura: 'account-key/1', type: 'sr25519', address, publicKey, mnemonic }`
 * (BIP39 mnemonic, derived with the Substrate schnorrkel scheme as in polkadot-js), written
 * with mode 0600 through a temporary file. Errors name the file's path, never its content.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { KeyringPair } from '@polkadot/keyring/types';
import { z } from 'zod';
import { ObscuraError } from '../common/errors.ts';
import { decryptToBuffer } from './age/decrypt.ts';
import { resultIdentityFromSecret } from './result-key.ts';
import {
  decodeSs58,
  encodeSs58,
  isMnemonic,
  mnemonicFromEntropy,
  pairFromMnemonic,
  type Sr25519Pair,
  signSr25519,
  verifySr25519,
} from './sr25519.ts';

/** SS58 prefix of Obscura account addresses (generic Substrate). */
export const SS58_PREFIX = 42;
const MNEMONIC_WORDS = 24;

/** The key file on disk; the schema is the single source of its type. */
export const AccountKeyFileSchema = z.object({
  obscura: z.literal('account-key/1'),
  type: z.literal('sr25519'),
  address: z.string().refine(isValidAddress, 'not an SS58 address with prefix 42'),
  publicKey: z.string().regex(/^0x[0-9a-f]{64}$/, 'not a 0x-prefixed 32-byte hex key'),
  mnemonic: z.string().refine((m) => isMnemonic(m), 'not a valid BIP39 mnemonic'),
});
/** A parsed key file. */
export type AccountKeyFile = z.infer<typeof AccountKeyFileSchema>;

/** A loaded account: its address and public key, and a signer that keeps the secret inside. */
export interface AccountKey {
  address: string;
  /** 0x-prefixed hex of the 32-byte sr25519 public key. */
  publicKey: string;
  /** The age recipient results for this account are encrypted to (result-key.ts). */
  resultRecipient: string;
  /** sr25519 signature of `message`, 0x-prefixed hex (64 bytes). */
  sign(message: Uint8Array): string;
  /** Decrypt an age file encrypted to `resultRecipient` (a sealed result's outputs); the identity never leaves. */
  decryptResult(ciphertext: Uint8Array): Promise<Buffer>;
}

let ready: Promise<void> | null = null;

/**
 * Wait until polkadot-js's WASM crypto is loaded (for code that uses @polkadot directly, and
 * before generating keys or deriving from a secret URI); idempotent. Loading, signing and
 * verifying with a key file do not need it (sr25519.ts). Rejects if it cannot load (a later
 * call retries).
 */
export function cryptoReady(): Promise<void> {
  ready ??= import('@polkadot/util-crypto')
    .then(({ cryptoWaitReady }) => cryptoWaitReady())
    .then(
      () => undefined,
      (e: unknown) => {
        ready = null;
        throw e;
      },
    );
  return ready;
}

/** A keyring for deriving keys from secret URIs and generating mnemonics (loads @polkadot on demand). */
async function keyring() {
  await cryptoReady();
  const { Keyring } = await import('@polkadot/keyring');
  return new Keyring({ type: 'sr25519', ss58Format: SS58_PREFIX });
}

// polkadot-js's PKCS#8 form of a pair without a passphrase: header, secret key, divider,
// public key (@polkadot/keyring pair/defaults.ts). The result identity is derived from it.
const PKCS8_HEADER = Buffer.from([48, 83, 2, 1, 1, 48, 5, 6, 3, 43, 101, 112, 4, 34, 4, 32]);
const PKCS8_DIVIDER = Buffer.from([161, 35, 3, 33, 0]);

/** The key pair inside a polkadot-js keyring pair (its unencrypted PKCS#8 form). */
function pairOf(pair: KeyringPair): Sr25519Pair {
  const pkcs8 = pair.encodePkcs8();
  try {
    const at = PKCS8_HEADER.length;
    return { secretKey: pkcs8.slice(at, at + 64), publicKey: Uint8Array.from(pair.publicKey) };
  } finally {
    pkcs8.fill(0);
  }
}

function resultIdentityOf(pair: Sr25519Pair): { identity: string; recipient: string } {
  // Without a passphrase the PKCS#8 form is the plain secret key (and public key): deterministic.
  const secret = Buffer.concat([PKCS8_HEADER, pair.secretKey, PKCS8_DIVIDER, pair.publicKey]);
  try {
    return resultIdentityFromSecret(secret);
  } finally {
    secret.fill(0);
  }
}

const hex = (bytes: Uint8Array): string => `0x${Buffer.from(bytes).toString('hex')}`;

function toAccountKey(pair: Sr25519Pair): AccountKey {
  return {
    address: encodeSs58(pair.publicKey, SS58_PREFIX),
    publicKey: hex(pair.publicKey),
    resultRecipient: resultIdentityOf(pair).recipient,
    sign: (message: Uint8Array) => hex(signSr25519(pair, message)),
    decryptResult: (ciphertext: Uint8Array) => decryptToBuffer([resultIdentityOf(pair).identity], ciphertext),
  };
}

/**
 * Addresses already checked, and their verdict. The check (base58 and a BLAKE2 checksum) is
 * pure, and the same few addresses are checked on every request that parses a stored record
 * (measured: ~10% of the host's CPU serving results); bounded, cleared when full.
 */
const checkedAddresses = new Map<string, boolean>();
const MAX_CHECKED_ADDRESSES = 10_000;

/** True when `address` is a well-formed SS58 address with prefix 42 (checksum included). */
export function isValidAddress(address: string): boolean {
  if (typeof address !== 'string') return false;
  const known = checkedAddresses.get(address);
  if (known !== undefined) return known;
  const valid = decodeSs58(address, SS58_PREFIX) !== null;
  if (checkedAddresses.size >= MAX_CHECKED_ADDRESSES) checkedAddresses.clear();
  checkedAddresses.set(address, valid);
  return valid;
}

/** Whether `signature` (0x hex) is `address`'s sr25519 signature of `message`; false, never a throw, on bad input. */
export function verifyAccountSignature(address: string, message: Uint8Array, signature: string): boolean {
  try {
    if (!isValidAddress(address) || !(message instanceof Uint8Array)) return false;
    if (typeof signature !== 'string' || !/^0x[0-9a-fA-F]{128}$/.test(signature)) return false;
    const publicKey = decodeSs58(address, SS58_PREFIX);
    if (!publicKey) return false;
    return verifySr25519(message, Buffer.from(signature.slice(2), 'hex'), publicKey);
  } catch {
    return false;
  }
}

/**
 * Write a new sr25519 key file at `path` (mode 0600, atomically) and return its address.
 * Throws key_file_exists (409) when `path` exists unless `opts.force`, and the fs error
 * when the directory is not writable.
 */
export async function createKeyFile(
  path: string,
  opts: { force?: boolean } = {},
): Promise<{ address: string }> {
  // BIP39 here rather than polkadot-js's mnemonicGenerate, whose WASM crypto takes ~0.1 CPU-s
  // to load: `obscura keys new` is a CLI call (and the tests make many).
  const mnemonic = mnemonicFromEntropy(randomBytes((MNEMONIC_WORDS / 3) * 4));
  const pair = pairFromMnemonic(mnemonic);
  const address = encodeSs58(pair.publicKey, SS58_PREFIX);
  pair.secretKey.fill(0);
  const file: AccountKeyFile = {
    obscura: 'account-key/1',
    type: 'sr25519',
    address,
    publicKey: hex(pair.publicKey),
    mnemonic,
  };
  const tmpPath = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmpPath, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(file, null, 2)}\n`);
    await handle.chmod(0o600); // whatever the umask
    await handle.sync();
    await handle.close();
    if (opts.force) {
      await rename(tmpPath, path);
    } else {
      // link() refuses an existing target, so two writers can never overwrite each other.
      await link(tmpPath, path).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'EEXIST') {
          throw new ObscuraError(
            'key_file_exists',
            `key file ${path} already exists (obscura keys new --force replaces it)`,
            409,
          );
        }
        throw e;
      });
      await chmod(path, 0o600);
    }
  } finally {
    await handle.close().catch(() => undefined);
    await rm(tmpPath, { force: true });
  }
  return { address };
}

function invalidKeyFile(path: string, why: string): ObscuraError {
  return new ObscuraError(
    'key_file_invalid',
    `key file ${path} is not a valid Obscura account key (${why})`,
    400,
  );
}

/**
 * Load the key file at `path`. Throws key_file_invalid (naming the path and the faulty
 * field, never the content) when it is unreadable, not JSON, fails the schema, or its
 * address or public key does not match its mnemonic.
 */
export async function loadAccountKey(path: string): Promise<AccountKey> {
  return toAccountKey(await loadPair(path));
}

/**
 * The age identity (`AGE-SECRET-KEY-1…`) that opens results encrypted to the account in the
 * key file at `path`; fails like loadAccountKey.
 */
export async function loadResultIdentity(path: string): Promise<{ identity: string; recipient: string }> {
  return resultIdentityOf(await loadPair(path));
}

async function loadPair(path: string): Promise<Sr25519Pair> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw invalidKeyFile(path, `cannot read it: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalidKeyFile(path, 'not JSON');
  }
  const parsed = AccountKeyFileSchema.safeParse(json);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))];
    throw invalidKeyFile(path, `bad field: ${fields.join(', ')}`);
  }
  const pair = pairFromMnemonic(parsed.data.mnemonic);
  if (
    encodeSs58(pair.publicKey, SS58_PREFIX) !== parsed.data.address ||
    hex(pair.publicKey) !== parsed.data.publicKey
  ) {
    throw invalidKeyFile(path, 'address does not match the mnemonic');
  }
  return pair;
}

/**
 * The account for a secret URI (`//Alice`, a mnemonic, a mnemonic with a derivation path,
 * a 0x seed), for tests and operators. Throws invalid_suri (the URI is never echoed).
 */
export async function accountKeyFromSuri(suri: string): Promise<AccountKey> {
  const ring = await keyring();
  const invalid = new ObscuraError('invalid_suri', 'invalid secret URI', 400);
  if (typeof suri !== 'string') throw invalid;
  // polkadot-js turns any string into a key; accept only the dev phrase (a URI that starts
  // with a derivation path, e.g. //Alice), a BIP39 mnemonic, or a 32-byte hex seed.
  const phrase = suri.split('/')[0] as string;
  if (phrase !== '' && !/^0x[0-9a-fA-F]{64}$/.test(phrase) && !isMnemonic(phrase)) throw invalid;
  try {
    return toAccountKey(pairOf(ring.addFromUri(suri)));
  } catch {
    throw invalid;
  }
}
