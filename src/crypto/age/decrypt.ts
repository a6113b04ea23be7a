/**
 * Decryption of age v1 files (https://age-encryption.org/v1) with X25519 identities: a Node
 * Transform from an age file to its plaintext, and a whole-file helper.
 *
 * The header is read and authenticated (file key unwrapped, MAC checked) before any
 * plaintext is released; after that, each 64 KiB chunk is released once it authenticates,
 * so a consumer must treat a stream error as the failure of the whole file.
 */
import { ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ageError } from './errors.ts';
import { parseHeader, scanHeader } from './format.ts';
import { openHeader } from './header.ts';
import { PAYLOAD_NONCE_BYTES, SEALED_CHUNK_BYTES, StreamOpener, openedLength, payloadKey } from './stream.ts';
import { parseIdentity, type X25519Identity } from './x25519.ts';

/** Parse identities for decryption; throws invalid_identity (also for an empty list). */
export function parseIdentities(identities: readonly string[]): X25519Identity[] {
  if (!Array.isArray(identities) || identities.length === 0) {
    throw ageError('invalid_identity', 'at least one identity is required');
  }
  return identities.map(parseIdentity);
}

/** The payload opener for `fileKey` and the nonce at `nonce`; wipes the file key. */
function openPayload(fileKey: Buffer, nonce: Uint8Array): StreamOpener {
  try {
    return new StreamOpener(payloadKey(fileKey, nonce.subarray(0, PAYLOAD_NONCE_BYTES)));
  } finally {
    fileKey.fill(0);
  }
}

class DecryptTransform extends Transform {
  readonly #ids: X25519Identity[];
  /** Bytes seen before the payload starts (header and nonce): #headLen bytes of #headBuf. */
  #headBuf: Buffer = Buffer.alloc(0);
  #headLen = 0;
  /** Whether #headBuf is ours to grow (not a caller's chunk). */
  #headOwned = false;
  #headerBytes = -1;
  /** How much of #head scanHeader has already looked at. */
  #scanned = 0;
  #fileKey: Buffer | null = null;
  #opener: StreamOpener | null = null;
  /** Payload bytes not yet opened: a queue of buffers, the first read from #offset. */
  readonly #queue: Buffer[] = [];
  #offset = 0;
  #queued = 0;
  readonly #scratch = Buffer.allocUnsafe(SEALED_CHUNK_BYTES);

  constructor(ids: X25519Identity[]) {
    super();
    this.#ids = ids;
  }

  /** Append to the prefix bytes: the first chunk is used as is, later ones grow a buffer by doubling. */
  #appendPrefix(chunk: Buffer): Buffer {
    if (this.#headLen === 0) {
      this.#headBuf = chunk;
      this.#headOwned = false;
    } else if (chunk.length > 0) {
      const need = this.#headLen + chunk.length;
      if (!this.#headOwned || need > this.#headBuf.length) {
        const grown = Buffer.allocUnsafe(Math.max(need, 2 * this.#headBuf.length, 4096));
        this.#headBuf.copy(grown, 0, 0, this.#headLen);
        this.#headBuf = grown;
        this.#headOwned = true;
      }
      chunk.copy(this.#headBuf, this.#headLen);
    }
    this.#headLen += chunk.length;
    return this.#headBuf.subarray(0, this.#headLen);
  }

  /** Consume prefix bytes; returns the payload bytes of `chunk` once the opener exists. */
  #readPrefix(chunk: Buffer, eof: boolean): Buffer | null {
    const head = this.#appendPrefix(chunk);
    if (this.#headerBytes < 0) {
      this.#headerBytes = scanHeader(head, eof, this.#scanned);
      this.#scanned = head.length;
      if (this.#headerBytes < 0) return null;
      // Authenticate the header as soon as it is complete, even before the nonce arrives.
      this.#fileKey = openHeader(parseHeader(head.subarray(0, this.#headerBytes)), this.#ids);
    }
    const payloadStart = this.#headerBytes + PAYLOAD_NONCE_BYTES;
    if (head.length < payloadStart) {
      if (eof) throw ageError('age_truncated', 'input ends inside the payload nonce');
      return null;
    }
    this.#opener = openPayload(this.#fileKey as Buffer, head.subarray(this.#headerBytes));
    this.#fileKey = null;
    this.#headBuf = Buffer.alloc(0);
    this.#headLen = 0;
    return head.subarray(payloadStart);
  }

  /** The next `n` queued bytes, without copying when they sit in one buffer. */
  #take(n: number): Buffer {
    const first = this.#queue[0] as Buffer;
    let out: Buffer;
    if (first.length - this.#offset >= n) {
      out = first.subarray(this.#offset, this.#offset + n);
      this.#offset += n;
    } else {
      out = this.#scratch.subarray(0, n);
      let filled = 0;
      while (filled < n) {
        const buf = this.#queue[0] as Buffer;
        const m = Math.min(n - filled, buf.length - this.#offset);
        buf.copy(out, filled, this.#offset, this.#offset + m);
        filled += m;
        this.#offset += m;
        if (this.#offset === buf.length) {
          this.#queue.shift();
          this.#offset = 0;
        }
      }
    }
    if (this.#queue.length > 0 && this.#offset === (this.#queue[0] as Buffer).length) {
      this.#queue.shift();
      this.#offset = 0;
    }
    this.#queued -= n;
    return out;
  }

  #ingest(chunk: Buffer, eof: boolean): void {
    let payload: Buffer | null = chunk;
    if (!this.#opener) payload = this.#readPrefix(chunk, eof);
    const opener = this.#opener;
    if (!opener || !payload) return;
    if (payload.length > 0) {
      this.#queue.push(payload);
      this.#queued += payload.length;
    }
    while (this.#queued > SEALED_CHUNK_BYTES) this.push(opener.open(this.#take(SEALED_CHUNK_BYTES), true));
    if (eof) {
      const last = this.#queued > 0 ? this.#take(this.#queued) : Buffer.alloc(0);
      this.push(opener.open(last, false));
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#ingest(chunk, false);
      callback();
    } catch (e) {
      callback(e as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.#ingest(Buffer.alloc(0), true);
      callback();
    } catch (e) {
      callback(e as Error);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#fileKey?.fill(0);
    this.#opener?.wipe();
    callback(error);
  }
}

/**
 * A Transform from an age file to its plaintext, for the X25519 `identities`
 * (`AGE-SECRET-KEY-1…`). Throws invalid_identity synchronously; the stream then fails with
 * age_header_invalid, age_no_matching_identity, age_header_mac, age_payload_corrupt,
 * age_truncated or age_trailing_data.
 */
export function decryptStream(identities: string[]): Transform {
  return new DecryptTransform(parseIdentities(identities));
}

/** Decrypt a whole age file held in memory into one preallocated buffer. */
function decryptBytes(ids: readonly X25519Identity[], bytes: Uint8Array): Buffer {
  const header = parseHeader(bytes);
  const fileKey = openHeader(header, ids);
  const payloadStart = header.headerBytes + PAYLOAD_NONCE_BYTES;
  if (bytes.length < payloadStart) {
    fileKey.fill(0);
    throw ageError('age_truncated', 'input ends inside the payload nonce');
  }
  const opener = openPayload(fileKey, bytes.subarray(header.headerBytes));
  const payload = bytes.subarray(payloadStart);
  const out = Buffer.allocUnsafe(openedLength(payload.length) ?? payload.length);
  let written = 0;
  try {
    let off = 0;
    const put = (plaintext: Buffer): void => {
      written += plaintext.copy(out, written);
      plaintext.fill(0);
    };
    for (; payload.length - off > SEALED_CHUNK_BYTES; off += SEALED_CHUNK_BYTES) {
      put(opener.open(payload.subarray(off, off + SEALED_CHUNK_BYTES), true));
    }
    put(opener.open(payload.subarray(off), false));
    return out.subarray(0, written);
  } catch (e) {
    out.fill(0);
    opener.wipe();
    throw e;
  }
}

/** Size of a plain fs.ReadStream's file, or null when unknown (then no preallocation). */
async function knownSize(source: Readable): Promise<number | null> {
  if (!(source instanceof ReadStream) || typeof source.path !== 'string') return null;
  const { start, end } = source as ReadStream & { start?: number; end?: number };
  if ((start ?? 0) !== 0 || (end !== undefined && end !== Number.POSITIVE_INFINITY)) return null;
  try {
    return (await stat(source.path)).size;
  } catch {
    return null;
  }
}

/**
 * The whole plaintext of an age file, from bytes or a Readable, for `identities`.
 * Preallocates the result when the size is known (bytes, or a file ReadStream). Throws
 * invalid_identity and every age_* error decryptStream raises; no partial plaintext is returned.
 */
export async function decryptToBuffer(identities: string[], source: Uint8Array | Readable): Promise<Buffer> {
  const ids = parseIdentities(identities);
  if (source instanceof Uint8Array) return decryptBytes(ids, source);
  const size = await knownSize(source);
  let out = size === null ? null : Buffer.allocUnsafe(size);
  const parts: Buffer[] = [];
  let written = 0;
  try {
    await pipeline(source, new DecryptTransform(ids), async (plain: AsyncIterable<Buffer>) => {
      for await (const chunk of plain) {
        if (out && written + chunk.length <= out.length) {
          chunk.copy(out, written);
          chunk.fill(0);
        } else {
          if (out) parts.push(out.subarray(0, written)); // file grew: fall back to a list
          out = null;
          parts.push(chunk);
        }
        written += chunk.length;
      }
    });
  } catch (e) {
    out?.fill(0);
    for (const p of parts) p.fill(0);
    throw e;
  }
  return out ? out.subarray(0, written) : Buffer.concat(parts, written);
}
