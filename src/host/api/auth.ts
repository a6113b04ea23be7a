/**
 * Request authentication: callers sign each request with their sr25519 Substrate account
 * key. The signed string binds the method, the path with its query, a millisecond
 * timestamp and the SHA-256 of the body:
 *
 *   obscura-request/1\n<METHOD>\n<path?query>\n<timestamp>\n<body sha256 hex | UNSIGNED-PAYLOAD>
 *
 * UNSIGNED-PAYLOAD is accepted only for dataset uploads, whose content the owner's signed
 * manifest already binds (it commits to the ciphertext's SHA-256). Requests older or newer
 * than five minutes, and a second request with the same signed message in that window
 * (a replay, however its signature is spelled), are refused; src/host/store/replay.ts keeps
 * what was seen in SQLite, so a restart does not forget it.
 */
import { createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ObscuraError } from '../../common/errors.ts';
import { verifyAccountSignature } from '../../crypto/index.ts';
import {
  HEADER_ACCOUNT,
  HEADER_BODY,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  requestSigningBytes,
  UNSIGNED_PAYLOAD,
  WINDOW_MS,
} from '../../contracts/request-signing.ts';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

declare module 'express-serve-static-core' {
  interface Request {
    /** SHA-256 (hex) of the raw body, set by the JSON body parser. */
    bodySha256?: string;
    /** The authenticated caller's address, set by `authenticate`. */
    account?: string;
  }
}

/** Where accepted requests are remembered (src/host/store/replay.ts; durable, so a restart reopens nothing). */
export interface SeenRequests {
  remember(key: Buffer, expiresAt: number, now: number): boolean;
}

/** How a route takes signatures. */
export interface AuthOptions {
  replay: SeenRequests;
  /** Accept UNSIGNED-PAYLOAD as the body hash (streaming uploads only). */
  allowUnsignedPayload?: boolean;
  /** An unsigned request passes as anonymous (routes that serve public items too). */
  optional?: boolean;
}

/**
 * The caller of `req`: the signing account, or undefined for an unsigned request where
 * `opts.optional`. Throws 401 (unauthenticated, request_expired, signature_invalid,
 * request_replayed) otherwise. A request that carries any signature header is checked in
 * full, optional or not, so a bad signature never passes as anonymous.
 */
export function authenticateRequest(req: Request, opts: AuthOptions): string | undefined {
  const account = req.header(HEADER_ACCOUNT);
  const timestamp = req.header(HEADER_TIMESTAMP);
  const signature = req.header(HEADER_SIGNATURE);
  if (opts.optional && account === undefined && timestamp === undefined && signature === undefined)
    return undefined;
  if (!account || !timestamp || !signature) {
    throw new ObscuraError(
      'unauthenticated',
      `this request must be signed (headers ${HEADER_ACCOUNT}, ${HEADER_TIMESTAMP}, ${HEADER_SIGNATURE})`,
      401,
    );
  }
  const now = Date.now();
  const t = Number(timestamp);
  if (!/^[0-9]{1,16}$/.test(timestamp) || !Number.isSafeInteger(t) || Math.abs(now - t) > WINDOW_MS) {
    throw new ObscuraError(
      'request_expired',
      'request timestamp is missing or more than five minutes off',
      401,
    );
  }
  const declared = req.header(HEADER_BODY);
  let bodyHash: string;
  if (declared === UNSIGNED_PAYLOAD && opts.allowUnsignedPayload) bodyHash = UNSIGNED_PAYLOAD;
  else if (req.bodySha256 !== undefined) bodyHash = req.bodySha256;
  else bodyHash = EMPTY_SHA256;
  const message = requestSigningBytes(req.method, req.originalUrl, timestamp, bodyHash);
  if (!verifyAccountSignature(account, message, signature)) {
    throw new ObscuraError('signature_invalid', 'request signature does not verify for the account', 401);
  }
  // The replay key is what was signed, not how the signature is spelled: another hex case,
  // or another (sr25519 signatures are randomised) signature of the same message, is the
  // same request. Clients give each request its own millisecond (src/cli/client.ts).
  const key = createHash('sha256').update(account).update('\n').update(message).digest();
  if (!opts.replay.remember(key, t + WINDOW_MS + 1000, now)) {
    throw new ObscuraError('request_replayed', 'this signed request was already used', 401);
  }
  return account;
}

/** Express middleware that requires a signed request (see authenticateRequest). */
export function authenticate(opts: AuthOptions) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    try {
      const account = authenticateRequest(req, opts);
      if (account !== undefined) req.account = account;
      next();
    } catch (e) {
      next(e);
    }
  };
}
