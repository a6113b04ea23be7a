/**
 * A TypeScript port of the C2SP CCTV age testkit (github.com/C2SP/CCTV, age/internal/testkit/
 * testkit.go, 0BSD/CC0/Unlicense), used to regenerate a few published age test vectors.
 *
 * The CCTV vector files (age/testdata/*) are binary and are produced deterministically by the
 * Go programs in age/internal/tests/ from this testkit: its "randomness" is the ChaCha20
 * keystream of the key "TEST RANDOMNESS TEST RANDOMNESS!" under a zero nonce. Porting the
 * testkit and the programs lets the tests rebuild the same files byte for byte and check
 * them against the published expectations (outcome, identity, payload SHA-256).
 *
 * Independent of src/crypto on purpose: it uses node:crypto and @scure/base directly, so a
 * shared mistake in our age code cannot make both sides agree.
 */
import {
  createCipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
} from 'node:crypto';
import { bech32 } from '@scure/base';

/** The testkit's X25519 identity (TestX25519Identity). */
export const TEST_IDENTITY = 'AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0';
export const TEST_IDENTITY_BYTES = Buffer.from(
  bech32.decodeToBytes(TEST_IDENTITY.toLowerCase(), false).bytes,
);
export const TEST_FILE_KEY = Buffer.from('YELLOW SUBMARINE');
export const LARGE_TEST_FILE_KEY = Buffer.from('7aa5bdac0e6afeed3dd0a7eccb42af44', 'hex');
export const LARGE_TEST_NONCE = Buffer.from('c82f71eb82029b77136399e485e879f4', 'hex');
export const LARGE_TEST_FIRST_CHUNK = Buffer.alloc(64 * 1024, 0);

const BASEPOINT = Buffer.concat([Buffer.from([9]), Buffer.alloc(31)]);
const SPKI = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64').replace(/=+$/, '');

/** X25519(scalar, point) as the testkit computes it: all-zero for a low-order point. */
export function x25519(scalar: Uint8Array, point: Uint8Array): Buffer {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8, scalar]), format: 'der', type: 'pkcs8' });
  if (Buffer.from(point).equals(BASEPOINT)) {
    return createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI.length);
  }
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI, point]), format: 'der', type: 'spki' });
  try {
    return diffieHellman({ privateKey, publicKey });
  } catch {
    return Buffer.alloc(32);
  }
}

/** TestX25519Recipient: the public key of TestX25519Identity. */
export const TEST_RECIPIENT_BYTES = x25519(TEST_IDENTITY_BYTES, BASEPOINT);

function chachaPoly(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

/** One vector under construction: the Go TestFile, method for method. */
export class TestFile {
  private parts: Buffer[] = [];
  private readonly rng = createCipheriv(
    'chacha20',
    Buffer.from('TEST RANDOMNESS TEST RANDOMNESS!'),
    Buffer.alloc(16),
  );
  private fileKey: Buffer = TEST_FILE_KEY;
  private streamKey: Buffer = Buffer.alloc(32);
  private readonly nonce = Buffer.alloc(12);
  private payloadParts: Buffer[] = [];
  expect = 'success';
  readonly identities: string[] = [];

  rand(n: number): Buffer {
    return this.rng.update(Buffer.alloc(n));
  }
  setFileKey(key: Buffer): void {
    this.fileKey = key;
  }
  /** Buf.Reset(): drop everything written. */
  reset(): void {
    this.parts = [];
  }
  write(bytes: Uint8Array): void {
    this.parts.push(Buffer.from(bytes));
  }
  textLine(s: string): void {
    this.write(Buffer.from(`${s}\n`, 'latin1'));
  }
  versionLine(v: string): void {
    this.textLine(`age-encryption.org/${v}`);
  }
  argsLine(...args: string[]): void {
    this.textLine(['->', ...args].join(' '));
  }
  /** Remove and return the last text line (without its LF). */
  unreadLine(): string {
    const all = this.bytes().toString('latin1').replace(/\n$/, '');
    const idx = all.lastIndexOf('\n') + 1;
    this.parts = [Buffer.from(all.slice(0, idx), 'latin1')];
    return all.slice(idx);
  }
  body(body: Uint8Array): void {
    for (let off = 0; ; off += 48) {
      const line = body.subarray(off, off + 48);
      this.textLine(b64(line));
      if (line.length < 48) break;
    }
  }
  x25519(identity: Uint8Array): void {
    this.x25519RecordIdentity(identity);
    this.x25519NoRecordIdentity(identity);
  }
  x25519RecordIdentity(identity: Uint8Array): void {
    this.identities.push(bech32.encode('AGE-SECRET-KEY-', bech32.toWords(identity), false).toUpperCase());
  }
  x25519NoRecordIdentity(identity: Uint8Array): void {
    this.x25519Stanza(x25519(this.rand(32), BASEPOINT), identity);
  }
  x25519Stanza(share: Uint8Array, identity: Uint8Array): void {
    const recipient = x25519(identity, BASEPOINT);
    this.argsLine('X25519', b64(share));
    const secret = x25519(identity, share);
    const key = Buffer.from(
      hkdfSync('sha256', secret, Buffer.concat([share, recipient]), 'age-encryption.org/v1/X25519', 32),
    );
    this.body(chachaPoly(key, Buffer.alloc(12), this.fileKey));
  }
  hmac(): void {
    const key = Buffer.from(hkdfSync('sha256', this.fileKey, Buffer.alloc(0), 'header', 32));
    const mac = createHmac('sha256', key).update(this.bytes()).update('---').digest();
    this.textLine(`--- ${b64(mac)}`);
  }
  setNonce(nonce: Buffer): void {
    this.streamKey = Buffer.from(hkdfSync('sha256', this.fileKey, nonce, 'payload', 32));
    this.write(nonce);
  }
  payloadChunk(plaintext: Buffer): void {
    this.payloadParts.push(plaintext);
    this.write(chachaPoly(this.streamKey, this.nonce, plaintext));
    this.nonce[10] = ((this.nonce[10] as number) + 1) & 0xff;
  }
  payloadChunkFinal(plaintext: Buffer): void {
    this.payloadParts.push(plaintext);
    this.nonce[11] = 1;
    this.write(chachaPoly(this.streamKey, this.nonce, plaintext));
  }
  payload(text: string): void {
    this.setNonce(this.rand(16));
    this.payloadChunkFinal(Buffer.from(text));
  }
  /** All plaintext written so far (the vector's payload before any Expect* trimming). */
  plaintext(): Buffer {
    return Buffer.concat(this.payloadParts);
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}
