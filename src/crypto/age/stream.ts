/**
 * The age payload: STREAM over ChaCha20-Poly1305, on node:crypto.
 *
 * Follows the age v1 spec (https://age-encryption.org/v1, "Payload"): after the header
 * comes a 16-byte random nonce; the payload key is HKDF-SHA256(ikm = file key,
 * salt = nonce, info = "payload"); the plaintext is cut into 64 KiB chunks, each sealed
 * with ChaCha20-Poly1305 under the 12-byte nonce (11-byte big-endian chunk counter ||
 * last-chunk flag). Only the last chunk may be shorter than 64 KiB, and it may be empty
 * only when the whole payload is empty (STREAM, Hoang–Reyhanitabar–Rogaway–Vizár 2015).
 *
 * This is our own code rather than `age-encryption` (typage) because typage runs at
 * 50–80 MB/s on bulk payloads in Node, about ten times slower than the `age` tool; the
 * OpenSSL ChaCha20-Poly1305 behind node:crypto keeps up with it (see parts.md, "age").
 */
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { ageError } from './errors.ts';

/** Plaintext bytes in every chunk but the last. */
export const CHUNK_BYTES = 64 * 1024;
/** Poly1305 tag length. */
export const TAG_BYTES = 16;
/** Ciphertext bytes of a full chunk. */
export const SEALED_CHUNK_BYTES = CHUNK_BYTES + TAG_BYTES;
/** Length of the payload nonce that follows the header. */
export const PAYLOAD_NONCE_BYTES = 16;
/**
 * When the last chunk fails, look up to this many bytes back for a shorter valid last chunk,
 * to tell appended bytes (a stray newline, a concatenation) from corruption. Bounded, so a
 * damaged file costs at most ~1,000 extra chunk decryptions.
 */
const TRAILING_PROBE_BYTES = 1024;

/** The payload key for `fileKey` and the payload nonce; the caller wipes it. */
export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));
}

/** Plaintext length of a `sealedBytes` payload (nonce excluded), or null if no valid payload has that length. */
export function openedLength(sealedBytes: number): number | null {
  const full = Math.floor(sealedBytes / SEALED_CHUNK_BYTES);
  const rest = sealedBytes % SEALED_CHUNK_BYTES;
  if (rest === 0) return full === 0 ? null : full * CHUNK_BYTES;
  if (rest < TAG_BYTES || (rest === TAG_BYTES && full > 0)) return null;
  return full * CHUNK_BYTES + rest - TAG_BYTES;
}

/** The 12-byte chunk nonce: counter in bytes 0–10 (big-endian), last-chunk flag in byte 11. */
class ChunkNonce {
  readonly bytes = Buffer.alloc(12);
  count = 0;
  /** Start at chunk `index` instead of 0. */
  constructor(index = 0) {
    this.count = index;
    for (let i = 10, x = index; i >= 0; i--, x = Math.floor(x / 256)) this.bytes[i] = x % 256;
  }
  increment(): void {
    this.count++;
    for (let i = 10; i >= 0; i--) {
      this.bytes[i] = ((this.bytes[i] as number) + 1) & 0xff;
      if (this.bytes[i] !== 0) return;
    }
  }
}

/** Seals a payload chunk by chunk. Call `seal` for each chunk in order; `wipe` at the end. */
export class StreamSealer {
  readonly #key: Buffer;
  readonly #nonce = new ChunkNonce();
  #done = false;

  constructor(key: Buffer) {
    this.#key = key;
  }

  /** Seal the next chunk (64 KiB unless `last`); returns ciphertext and tag. Throws after the last chunk. */
  seal(plaintext: Uint8Array, last: boolean): [Buffer, Buffer] {
    if (this.#done) throw new Error('STREAM already finished');
    if (!last && plaintext.length !== CHUNK_BYTES) throw new RangeError('only the last chunk may be short');
    this.#nonce.bytes[11] = last ? 1 : 0;
    const cipher = createCipheriv('chacha20-poly1305', this.#key, this.#nonce.bytes, {
      authTagLength: TAG_BYTES,
    });
    const ciphertext = cipher.update(plaintext);
    cipher.final();
    if (last) this.wipe();
    else this.#nonce.increment();
    return [ciphertext, cipher.getAuthTag()];
  }

  /** Zero the payload key; further `seal` calls throw. */
  wipe(): void {
    this.#done = true;
    this.#key.fill(0);
  }
}

/**
 * Cuts a byte stream into chunks for a StreamSealer. A full chunk is sealed as non-final only
 * once a further byte arrives, so a payload that is a multiple of 64 KiB ends in a full last
 * chunk, as age does. Writes are copied into a pending chunk only when they straddle chunks.
 */
export class Chunker {
  readonly #sealer: StreamSealer;
  readonly #pending = Buffer.allocUnsafe(CHUNK_BYTES);
  #pendingBytes = 0;

  constructor(sealer: StreamSealer) {
    this.#sealer = sealer;
  }

  /** Feed plaintext; `emit` receives each sealed chunk's ciphertext and tag in order. */
  write(data: Uint8Array, emit: (ciphertext: Buffer, tag: Buffer) => void): void {
    let off = 0;
    while (off < data.length) {
      if (this.#pendingBytes === CHUNK_BYTES) {
        emit(...this.#sealer.seal(this.#pending, false));
        this.#pendingBytes = 0;
      }
      if (this.#pendingBytes === 0 && data.length - off > CHUNK_BYTES) {
        emit(...this.#sealer.seal(data.subarray(off, off + CHUNK_BYTES), false));
        off += CHUNK_BYTES;
        continue;
      }
      const n = Math.min(CHUNK_BYTES - this.#pendingBytes, data.length - off);
      this.#pending.set(data.subarray(off, off + n), this.#pendingBytes);
      this.#pendingBytes += n;
      off += n;
    }
  }

  /** Seal the last chunk (possibly empty) and wipe the pending plaintext and the key. */
  end(emit: (ciphertext: Buffer, tag: Buffer) => void): void {
    emit(...this.#sealer.seal(this.#pending.subarray(0, this.#pendingBytes), true));
    this.wipe();
  }

  /** Zero the pending plaintext and the payload key (also on failure). */
  wipe(): void {
    this.#pending.fill(0);
    this.#pendingBytes = 0;
    this.#sealer.wipe();
  }
}

/**
 * Opens a payload chunk by chunk. The caller decides chunk boundaries: every chunk but the
 * last is exactly SEALED_CHUNK_BYTES and is followed by more input (`more`); the last is
 * whatever remains. Failures are classified as truncation, trailing data or corruption.
 */
export class StreamOpener {
  readonly #key: Buffer;
  readonly #nonce: ChunkNonce;

  /** Opens chunks from chunk `index` on (0: the payload's start); wipes `key` when done. */
  constructor(key: Buffer, index = 0) {
    this.#key = key;
    this.#nonce = new ChunkNonce(index);
  }

  /**
   * Open the next chunk; returns its plaintext. `more` says that input follows the chunk.
   * Throws age_payload_corrupt, age_truncated or age_trailing_data.
   */
  open(chunk: Uint8Array, more: boolean): Buffer {
    if (more) {
      if (chunk.length !== SEALED_CHUNK_BYTES) throw new RangeError('only the last chunk may be short');
      const plaintext = this.#try(chunk, false);
      if (plaintext) {
        this.#nonce.increment();
        return plaintext;
      }
      if (this.#probe(chunk, chunk.length)) throw ageError('age_trailing_data');
      throw ageError('age_payload_corrupt');
    }
    if (chunk.length < TAG_BYTES) throw ageError('age_truncated', 'input ends before the final chunk');
    const plaintext = this.#try(chunk, true);
    if (plaintext) {
      if (plaintext.length === 0 && this.#nonce.count > 0) {
        throw ageError('age_payload_corrupt', 'final chunk is empty');
      }
      this.wipe();
      return plaintext;
    }
    if (chunk.length === SEALED_CHUNK_BYTES) {
      // A full chunk that opens as a middle chunk: the input stops at a chunk boundary.
      const middle = this.#try(chunk, false);
      if (middle) {
        middle.fill(0);
        throw ageError('age_truncated', 'input ends before the final chunk');
      }
    }
    if (this.#probe(chunk, chunk.length - 1)) throw ageError('age_trailing_data');
    throw ageError('age_payload_corrupt');
  }

  /** Zero the payload key. */
  wipe(): void {
    this.#key.fill(0);
  }

  /** Plaintext of `chunk` as the current chunk (final or not), or null if it does not authenticate. */
  #try(chunk: Uint8Array, last: boolean): Buffer | null {
    const split = chunk.length - TAG_BYTES;
    this.#nonce.bytes[11] = last ? 1 : 0;
    const decipher = createDecipheriv('chacha20-poly1305', this.#key, this.#nonce.bytes, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAuthTag(chunk.subarray(split));
    const plaintext = decipher.update(chunk.subarray(0, split));
    try {
      decipher.final();
      return plaintext;
    } catch {
      plaintext.fill(0);
      return null;
    }
  }

  /**
   * True when a prefix of `chunk` at most `longest` long (and at most TRAILING_PROBE_BYTES
   * shorter than it) is a valid final chunk: the file ended there and bytes were appended.
   */
  #probe(chunk: Uint8Array, longest: number): boolean {
    for (let n = longest; n >= TAG_BYTES && n >= chunk.length - TRAILING_PROBE_BYTES; n--) {
      const plaintext = this.#try(chunk.subarray(0, n), true);
      if (plaintext) {
        plaintext.fill(0);
        return true;
      }
    }
    return false;
  }
}
