/**
 * Request authentication: callers sign each request with their sr25519 Substrate account
 * key. The signed string binds the method, the path with its query, a millisecond
 * timestamp and the SHA-256 of the body:
 *
 *   obscura-request/1\n<METHOD>\n<path?query>\n<timestamp>\n<body sha256 hex | UNSIGNED-PAYLOAD>
 *
 * UNSIGNED-PAYLOAD is accepted only for dataset uploads, whose content the owner's signed
 * manifest already binds (it commits to the ciphertext's SHA-256). Requests older or newer
 * than five minutes, and replays of a signature seen in that window, are refused.
 */
import type { NextFunction, Request, Response } from 'express';
import { ObscuraError } from '../common/errors.ts';
import { verifyAccountSignature } from '../crypto/index.ts';

export const HEADER_ACCOUNT = 'obscura-account';
export const HEADER_TIMESTAMP = 'obscura-timestamp';
export const HEADER_SIGNATURE = 'obscura-signature';
export const HEADER_BODY = 'obscura-body-sha256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const WINDOW_MS = 5 * 60_000;

/** The exact bytes a caller signs for a request. */
export function requestSigningBytes(method: string, pathWithQuery: string, timestamp: string, bodyHash: string): Uint8Array {
  return new TextEncoder().encode(`obscura-request/1\n${method.toUpperCase()}\n${pathWithQuery}\n${timestamp}\n${bodyHash}`);
}

declare module 'express-serve-static-core' {
  interface Request {
    /** SHA-256 (hex) of the raw body, set by the JSON body parser. */
    bodySha256?: string;
    /** The authenticated caller's address, set by `authenticate`. */
    account?: string;
  }
}

/** Remembers signatures inside the time window so a captured request cannot be replayed. */
class ReplayGuard {
  private readonly seen = new Map<string, number>();
  check(signature: string, now: number): boolean {
    for (const [sig, t] of this.seen) {
      if (now - t > 2 * WINDOW_MS) this.seen.delete(sig);
      else break;
    }
    if (this.seen.has(signature)) return false;
    this.seen.set(signature, now);
    return true;
  }
}

/** Express middleware that requires a signed request; `allowUnsignedPayload` for streaming uploads. */
export function authenticate(opts: { allowUnsignedPayload?: boolean } = {}) {
  const guard = new ReplayGuard();
  return (req: Request, _res: Response, next: NextFunction): void => {
    const account = req.header(HEADER_ACCOUNT);
    const timestamp = req.header(HEADER_TIMESTAMP);
    const signature = req.header(HEADER_SIGNATURE);
    if (!account || !timestamp || !signature) {
      next(new ObscuraError('unauthenticated', `this request must be signed (headers ${HEADER_ACCOUNT}, ${HEADER_TIMESTAMP}, ${HEADER_SIGNATURE})`, 401));
      return;
    }
    const now = Date.now();
    const t = Number(timestamp);
    if (!Number.isSafeInteger(t) || Math.abs(now - t) > WINDOW_MS) {
      next(new ObscuraError('request_expired', 'request timestamp is missing or more than five minutes off', 401));
      return;
    }
    const declared = req.header(HEADER_BODY);
    let bodyHash: string;
    if (declared === UNSIGNED_PAYLOAD && opts.allowUnsignedPayload) bodyHash = UNSIGNED_PAYLOAD;
    else if (req.bodySha256 !== undefined) bodyHash = req.bodySha256;
    else bodyHash = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'; // SHA-256 of no body
    if (!verifyAccountSignature(account, requestSigningBytes(req.method, req.originalUrl, timestamp, bodyHash), signature)) {
      next(new ObscuraError('signature_invalid', 'request signature does not verify for the account', 401));
      return;
    }
    if (!guard.check(signature, now)) {
      next(new ObscuraError('request_replayed', 'this signed request was already used', 401));
      return;
    }
    req.account = account;
    next();
  };
}
