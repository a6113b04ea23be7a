/**
 * Encryption to age recipients: the header, the payload nonce, and a Node Transform that
 * turns plaintext into an age v1 file (https://age-encryption.org/v1).
 */
import { randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { buildHeader, newFileKey } from './header.ts';
import { Chunker, PAYLOAD_NONCE_BYTES, StreamSealer, payloadKey } from './stream.ts';
import { parseRecipient } from './x25519.ts';

/** What an encryption needs: the bytes that precede the payload, and the payload sealer. */
export interface Encryption {
  /** Header followed by the payload nonce. */
  prefix: Buffer;
  sealer: StreamSealer;
}

/**
 * Start an encryption to `recipients` (`age1…` strings): a fresh file key, the header and
 * nonce, and the payload key (the caller wipes it). The file key is wiped before returning.
 * Throws invalid_recipient (also for an empty list).
 */
export function startPayload(recipients: readonly string[]): { prefix: Buffer; key: Buffer } {
  const keys = recipients.map(parseRecipient);
  const fileKey = newFileKey();
  try {
    const header = buildHeader(fileKey, keys);
    const nonce = randomBytes(PAYLOAD_NONCE_BYTES);
    return { prefix: Buffer.concat([header, nonce]), key: payloadKey(fileKey, nonce) };
  } finally {
    fileKey.fill(0);
  }
}

/** startPayload with a sealer holding the payload key (it wipes the key when done). */
export function startEncryption(recipients: readonly string[]): Encryption {
  const { prefix, key } = startPayload(recipients);
  return { prefix, sealer: new StreamSealer(key) };
}

class EncryptTransform extends Transform {
  readonly #prefix: Buffer;
  readonly #chunker: Chunker;
  #started = false;
  readonly #emit = (ciphertext: Buffer, tag: Buffer): void => {
    this.push(ciphertext);
    this.push(tag);
  };

  constructor(enc: Encryption) {
    super();
    this.#prefix = enc.prefix;
    this.#chunker = new Chunker(enc.sealer);
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    this.push(this.#prefix);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#start();
      this.#chunker.write(chunk, this.#emit);
      callback();
    } catch (e) {
      callback(e as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.#start();
      this.#chunker.end(this.#emit);
      callback();
    } catch (e) {
      callback(e as Error);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#chunker.wipe();
    callback(error);
  }
}

/**
 * A Transform from plaintext to an age file sealed to `recipients` (`age1…`). Recipients are
 * checked at once: throws invalid_recipient synchronously, before any data flows.
 */
export function encryptStream(recipients: string[]): Transform {
  return new EncryptTransform(startEncryption(recipients));
}

/** Encrypt a whole buffer in memory to `recipients` (small messages: identities, model updates). */
export async function encryptToBuffer(recipients: string[], plaintext: Uint8Array): Promise<Buffer> {
  const enc = encryptStream(recipients);
  const chunks: Buffer[] = [];
  enc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    enc.once('end', () => resolve());
    enc.once('error', reject);
  });
  enc.end(plaintext);
  await done;
  return Buffer.concat(chunks);
}
