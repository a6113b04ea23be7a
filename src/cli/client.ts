/**
 * The CLI's side of the API client (src/client): the key a command signs with (--key, else
 * OBSCURA_KEY) and a client for it. `ApiClient` is the CLI's and the tests' name for
 * ObscuraClient.
 */
import { env } from '../common/env.ts';
import { type AccountKey, loadAccountKey } from '../crypto/index.ts';
import { ObscuraClient } from '../client/client.ts';

export { ObscuraClient, ObscuraClient as ApiClient } from '../client/client.ts';

/** The key file a command signs with: its --key flag, else OBSCURA_KEY; undefined when neither is set. */
export async function commandKey(flag: string | undefined): Promise<AccountKey | undefined> {
  const path = flag ?? env().OBSCURA_KEY;
  return path === undefined ? undefined : loadAccountKey(path);
}

/** An API client that signs with the command's key (--key, else OBSCURA_KEY) when one is given. */
export async function clientFor(api: string, keyFlag: string | undefined): Promise<ObscuraClient> {
  return new ObscuraClient(api, await commandKey(keyFlag));
}
