/**
 * The error codes of the age layer and the one place that builds them.
 *
 * Messages are short and uniform: a cryptographic failure never says which internal check
 * failed, and no message ever carries key material, recipients, identities or plaintext
 * (a secret key pasted where a recipient belongs must not end up in a log).
 */
import { ObscuraError, type HttpStatus } from '../../common/errors.ts';

/** Every code the age layer throws. The codes are a contract; the messages are not. */
export type AgeErrorCode =
  | 'age_header_invalid'
  | 'age_no_matching_identity'
  | 'age_header_mac'
  | 'age_payload_corrupt'
  | 'age_truncated'
  | 'age_trailing_data'
  | 'invalid_recipient'
  | 'invalid_identity';

const MESSAGES: Record<AgeErrorCode, [string, HttpStatus]> = {
  age_header_invalid: ['not a valid age file', 400],
  age_no_matching_identity: ['sealed file is not addressed to any of the given identities', 422],
  age_header_mac: ['sealed file header failed authentication', 422],
  age_payload_corrupt: ['sealed file payload failed authentication (corrupt or truncated)', 422],
  age_truncated: ['sealed file is truncated', 422],
  age_trailing_data: ['sealed file has trailing data after its final chunk', 422],
  invalid_recipient: ['invalid age recipient: expected an X25519 recipient (age1…)', 400],
  invalid_identity: ['invalid age identity: expected an X25519 identity (AGE-SECRET-KEY-1…)', 400],
};

/**
 * Build the ObscuraError for `code`. `detail` may name a structural reason (for example
 * "unsupported version line"); it must never contain bytes of the input.
 */
export function ageError(code: AgeErrorCode, detail?: string): ObscuraError {
  const [message, status] = MESSAGES[code];
  return new ObscuraError(code, detail ? `${message}: ${detail}` : message, status);
}
