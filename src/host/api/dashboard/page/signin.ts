/**
 * Signing in with the user's own key file: the browser reads the file the user picks, the
 * page derives the account (account.ts) and from then on signs every API request with it as
 * the CLI does (src/contracts/request-signing.ts). The key stays in this page's memory: it
 * is not stored (a reload signs out) and nothing but signatures leaves the page. The keyring
 * (account.ts) is loaded when someone signs in, not with the public page.
 */
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';
import {
  HEADER_ACCOUNT,
  HEADER_BODY,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  requestSigningBytes,
  UNSIGNED_PAYLOAD,
} from '../../../../contracts/request-signing.ts';
import type { AccountKey } from '../../../../crypto/keys.ts';
import { setSigner, type Signer } from './api.ts';
import { $, h, short } from './dom.ts';

/** The key file could not be used: says why, never what it holds. */
export class KeyFileError extends Error {}

let account: AccountKey | null = null;
/** The signed-in account, if any (owners' and analysts' sections sign with it). */
export const currentAccount = (): AccountKey | null => account;

let lastTimestamp = 0;
/** Millisecond timestamps, strictly increasing: two requests never sign the same message. */
function nextTimestamp(): string {
  lastTimestamp = Math.max(Date.now(), lastTimestamp + 1);
  return String(lastTimestamp);
}

/** A signer of API requests with `key`. */
export function signerFor(key: AccountKey): Signer {
  return {
    account: key.address,
    async headers(method, pathWithQuery, body) {
      const timestamp = nextTimestamp();
      const bodyHash =
        body === null ? UNSIGNED_PAYLOAD : bytesToHex(sha256(new TextEncoder().encode(body ?? '')));
      return {
        ...(body === null ? { [HEADER_BODY]: UNSIGNED_PAYLOAD } : {}),
        [HEADER_ACCOUNT]: key.address,
        [HEADER_TIMESTAMP]: timestamp,
        [HEADER_SIGNATURE]: key.sign(requestSigningBytes(method, pathWithQuery, timestamp, bodyHash)),
      };
    },
  };
}

/** Wire the header's sign-in controls; `changed` reloads the page's sections as the new account. */
export function initSignin(changed: () => void): void {
  const input = $('keyfile') as HTMLInputElement;
  const status = $('signin-status');
  const out = $('signout') as HTMLButtonElement;
  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    input.value = ''; // the same file can be picked again after signing out
    if (!file) return;
    try {
      if (file.size > 64 * 1024) throw new KeyFileError('not a key file (too large)');
      // Loaded at sign-in: the keyring and its WebAssembly are most of the page's code.
      const { accountFromKeyFile } = await import('./account.ts');
      account = await accountFromKeyFile(await file.text());
    } catch (e) {
      account = null;
      status.replaceChildren(
        h(
          'span',
          { class: 'bad' },
          e instanceof KeyFileError
            ? e.message
            : `could not read the key file (${String((e as Error)?.message ?? e)})`,
        ),
      );
      return;
    }
    setSigner(signerFor(account));
    status.replaceChildren(
      h('span', { title: account.address }, `signed in as ${short(account.address, 12)}`),
    );
    out.hidden = false;
    $('signin').hidden = true;
    changed();
  });
  out.addEventListener('click', () => {
    account = null;
    setSigner(null);
    status.replaceChildren();
    out.hidden = true;
    changed();
  });
}
