/**
 * Typed errors with stable codes. Every failure a user can meet is an ObscuraError:
 * the API turns it into application/problem+json, the CLI into a one-line message.
 * The `code` is a contract (tests and clients match on it); the message is for people
 * and must never carry plaintext or key material.
 */

/** HTTP status a code maps to at the API edge. */
export type HttpStatus =
  | 400
  | 401
  | 403
  | 404
  | 405
  | 408
  | 409
  | 410
  | 413
  | 415
  | 422
  | 429
  | 500
  | 502
  | 503
  | 507;

/** A failure with a stable machine-readable code and a human message. */
export class ObscuraError extends Error {
  override readonly name = 'ObscuraError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: HttpStatus = 400,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when `e` is an ObscuraError, optionally with the given code. */
export function isObscuraError(e: unknown, code?: string): e is ObscuraError {
  return e instanceof ObscuraError && (code === undefined || e.code === code);
}

/** The message of any thrown value, for logs that must not print stacks to users. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
