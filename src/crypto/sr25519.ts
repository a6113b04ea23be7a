/**
 * The sr25519 account operations a client call needs — a key file's mnemonic to its key pair,
 * signing, verifying, SS58 addresses — without the @polkadot barrels. Importing
 * `@polkadot/util-crypto` and `@polkadot/keyring` costs ~0.3 CPU-s at start-up (their WASM
 * crypto among them), more than the rest of `obscura result`. polkadot-js does these very
 * steps with the same code underneath (@scure/sr25519 for the curve; BIP39 entropy and
 * PBKDF2-SHA512 for the Substrate "mini secret"; BLAKE2b-512 for the SS58 checksum), so the
 * keys, addresses and signatures are the same (test/crypto/sr25519.test.ts checks it against
 * polkadot-js). Hashes run on node:crypto.
 */
import { createHash, pbkdf2Sync } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519';
import WORDLIST from '@polkadot/util-crypto/mnemonic/wordlists/en';
import { base58 } from '@scure/base';
import * as sr25519 from '@scure/sr25519';
import { baseTableWindow } from './base-table.ts';

// @scure/sr25519's Ristretto base point is ed25519's: its precomputed table is built, lazily,
// with the window asked for here (base-table.ts).
if (baseTableWindow() !== 8) ed25519.ExtendedPoint.BASE.precompute(baseTableWindow());

/** A key pair: the 32-byte public key and the 64-byte secret (key and nonce). */
export interface Sr25519Pair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

let words: Map<string, number> | null = null;
const SS58_CONTEXT = Buffer.from('SS58PRE');

/** The BIP39 entropy of an English mnemonic, or null when it is not one (words, length or checksum). */
export function mnemonicEntropy(mnemonic: string): Buffer | null {
  words ??= new Map(WORDLIST.map((w, i) => [w, i]));
  const list = mnemonic.normalize('NFKD').split(' ');
  if (list.length % 3 !== 0 || list.length < 12 || list.length > 24) return null;
  let bits = '';
  for (const w of list) {
    const index = words.get(w);
    if (index === undefined) return null;
    bits += index.toString(2).padStart(11, '0');
  }
  const divider = Math.floor(bits.length / 33) * 32;
  const entropy = Buffer.alloc(divider / 8);
  for (let i = 0; i < entropy.length; i++) entropy[i] = Number.parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const hash = createHash('sha256').update(entropy).digest();
  let checksum = '';
  for (const b of hash) checksum += b.toString(2).padStart(8, '0');
  return checksum.slice(0, divider / 32) === bits.slice(divider) ? entropy : null;
}

/**
 * The English BIP39 mnemonic of `entropy` (16 to 32 bytes, a multiple of 4): its bits and
 * the first bits of its SHA-256 as the checksum, 11 bits a word, as polkadot-js's
 * mnemonicGenerate makes from random entropy (and mnemonicEntropy reads back).
 */
export function mnemonicFromEntropy(entropy: Uint8Array): string {
  if (entropy.length % 4 !== 0 || entropy.length < 16 || entropy.length > 32)
    throw new Error('BIP39 entropy is 16 to 32 bytes, a multiple of 4');
  let bits = '';
  for (const b of entropy) bits += b.toString(2).padStart(8, '0');
  const hash = createHash('sha256').update(entropy).digest();
  for (const b of hash) bits += b.toString(2).padStart(8, '0');
  const count = ((entropy.length * 8) / 32) * 3; // words: (ENT + ENT/32) / 11
  const words: string[] = [];
  for (let i = 0; i < count; i++)
    words.push(WORDLIST[Number.parseInt(bits.slice(i * 11, i * 11 + 11), 2)] as string);
  return words.join(' ');
}

/** Whether `mnemonic` is a valid English BIP39 mnemonic (as polkadot-js's mnemonicValidate). */
export function isMnemonic(mnemonic: string): boolean {
  return typeof mnemonic === 'string' && mnemonicEntropy(mnemonic) !== null;
}

/** The key pair polkadot-js's keyring derives from a mnemonic without a path or password. */
export function pairFromMnemonic(mnemonic: string): Sr25519Pair {
  const entropy = mnemonicEntropy(mnemonic);
  if (!entropy) throw new Error('invalid BIP39 mnemonic');
  const seed = pbkdf2Sync(entropy, 'mnemonic', 2048, 64, 'sha512');
  try {
    const secretKey = sr25519.secretFromSeed(seed.subarray(0, 32));
    return { publicKey: sr25519.getPublicKey(secretKey), secretKey };
  } finally {
    seed.fill(0);
    entropy.fill(0);
  }
}

/** The sr25519 signature of `message` (64 bytes). */
export function signSr25519(pair: Sr25519Pair, message: Uint8Array): Uint8Array {
  return sr25519.sign(pair.secretKey, message);
}

/** Whether `signature` is `publicKey`'s sr25519 signature of `message`; false on malformed input. */
export function verifySr25519(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return sr25519.verify(message, signature, publicKey);
  } catch {
    return false;
  }
}

function ss58Checksum(body: Uint8Array): Buffer {
  return createHash('blake2b512').update(SS58_CONTEXT).update(body).digest().subarray(0, 2);
}

/** The SS58 address of a 32-byte public key under a one-byte prefix (< 64). */
export function encodeSs58(publicKey: Uint8Array, prefix: number): string {
  const body = Buffer.concat([Buffer.from([prefix]), publicKey]);
  return base58.encode(Buffer.concat([body, ss58Checksum(body)]));
}

/** The 32-byte public key of an SS58 address with this one-byte prefix and a valid checksum, else null. */
export function decodeSs58(address: string, prefix: number): Uint8Array | null {
  let bytes: Uint8Array;
  try {
    bytes = base58.decode(address);
  } catch {
    return null;
  }
  if (bytes.length !== 35 || bytes[0] !== prefix) return null;
  return ss58Checksum(bytes.subarray(0, 33)).equals(bytes.subarray(33)) ? bytes.slice(1, 33) : null;
}
