/**
 * The authorisation of an enclave upgrade: a statement that code with measurement `to` may
 * succeed code with measurement `from`, signed by an operator's account key. The host
 * anchors its hash on the chain; the old enclave hands its identity over only when the
 * signer is one of the operators it was given at first start (kept in its sealed state, see
 * state.ts), the signature holds, and the anchor is on chain (handover.ts). So neither a
 * well-known key nor a host that anchors a record of its own can authorise an upgrade.
 */
import { z } from 'zod';
import type { AnchorRecord } from '../chain/records.ts';
import { ObscuraError } from '../common/errors.ts';
import { hashJson } from '../common/hash.ts';
import type { AccountKey } from '../crypto/keys.ts';
import {
  AccountAddressSchema,
  AccountSignatureSchema,
  signStatement,
  verifyStatement,
} from '../crypto/statement.ts';

const measurement = z.string().regex(/^[0-9a-f]{64}$/, 'a measurement is 64 hex characters');

/** What an operator signs. */
export const UpgradeAuthorizationStatementSchema = z
  .strictObject({
    obscura: z.literal('upgrade-authorization/1'),
    from: measurement,
    to: measurement,
    /** The signing operator's address (SS58, prefix 42). */
    operator: AccountAddressSchema,
    createdAt: z.iso.datetime(),
  })
  .refine((a) => a.from !== a.to, { message: 'from and to must differ', path: ['to'] });
export type UpgradeAuthorizationStatement = z.infer<typeof UpgradeAuthorizationStatementSchema>;

/** A statement with its operator's sr25519 signature. */
export const SignedUpgradeAuthorizationSchema = z.strictObject({
  authorization: UpgradeAuthorizationStatementSchema,
  signature: AccountSignatureSchema,
});
export type SignedUpgradeAuthorization = z.infer<typeof SignedUpgradeAuthorizationSchema>;

/** The domain line of an authorisation's signature (crypto/statement.ts). */
const DOMAIN = 'obscura-upgrade-authorization/1';

/** Sign the authorisation of the upgrade `from` → `to` as `operator`. */
export function signUpgradeAuthorization(
  from: string,
  to: string,
  operator: AccountKey,
  now = new Date(),
): SignedUpgradeAuthorization {
  const parsed = UpgradeAuthorizationStatementSchema.safeParse({
    obscura: 'upgrade-authorization/1',
    from,
    to,
    operator: operator.address,
    createdAt: now.toISOString(),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ObscuraError(
      'upgrade_invalid',
      `invalid upgrade authorisation: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      400,
    );
  }
  const authorization = parsed.data;
  return { authorization, signature: signStatement(DOMAIN, authorization, operator) };
}

/** Whether the signature is the named operator's over this very statement. */
export function upgradeAuthorizationSignatureValid(signed: SignedUpgradeAuthorization): boolean {
  return verifyStatement(DOMAIN, signed.authorization, signed.authorization.operator, signed.signature);
}

/** The chain record of a signed authorisation: binds the statement and its signature. */
export function upgradeAuthorizationRecord(signed: SignedUpgradeAuthorization): AnchorRecord {
  return {
    kind: 'worker',
    hash: hashJson({
      obscura: 'measurement-upgrade/2',
      authorization: signed.authorization,
      signature: signed.signature,
    }),
  };
}
