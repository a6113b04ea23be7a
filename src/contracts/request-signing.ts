/**
 * How a request to the API is signed (the CLI signs, the host checks): callers sign each
 * request with their sr25519 Substrate account key. The signed string binds the method,
 * the path with its query, a millisecond timestamp and the SHA-256 of the body:
 *
 *   obscura-request/1\n<METHOD>\n<path?query>\n<timestamp>\n<body sha256 hex | UNSIGNED-PAYLOAD>
 *
 * UNSIGNED-PAYLOAD is accepted only for dataset uploads, whose content the owner's signed
 * manifest already binds (it commits to the ciphertext's SHA-256). Requests older or newer
 * than five minutes, and a second request with the same signed message in that window
 * (a replay, however its signature is spelled), are refused (src/host/api/auth.ts).
 */

export const HEADER_ACCOUNT = 'obscura-account';
export const HEADER_TIMESTAMP = 'obscura-timestamp';
export const HEADER_SIGNATURE = 'obscura-signature';
export const HEADER_BODY = 'obscura-body-sha256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** How far a request's timestamp may be from the host's clock. */
export const WINDOW_MS = 5 * 60_000;

/** The exact bytes a caller signs for a request. */
export function requestSigningBytes(
  method: string,
  pathWithQuery: string,
  timestamp: string,
  bodyHash: string,
): Uint8Array {
  return new TextEncoder().encode(
    `obscura-request/1\n${method.toUpperCase()}\n${pathWithQuery}\n${timestamp}\n${bodyHash}`,
  );
}
