/**
 * The operator account of a host on the embedded chain: made at first start in the data
 * directory (`operator.key`, an Obscura account key file, mode 0600), never a development
 * key. It signs the host's anchors, and it is an operator for upgrade authorisations
 * (`obscura upgrade authorize --key <data dir>/operator.key`). On the embedded chain it is
 * funded at every start by a storage write (embedded.ts): there the balance is only a
 * faucet, and no dev key signs anything.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ObscuraError } from '../../common/errors.ts';
import { AccountKeyFileSchema, createKeyFile, loadAccountKey } from '../../crypto/keys.ts';

/** File name of the operator key in a data directory. */
export const OPERATOR_KEY_FILE = 'operator.key';

/** An operator account: its address (prefix 42) and the secret URI the chain client signs with. */
export interface OperatorAccount {
  address: string;
  /** The key's mnemonic: stays in this process. */
  suri: string;
  /** Where it was loaded from. */
  path: string;
}

/**
 * Load `<dataDir>/operator.key`, making it first if it does not exist. Throws
 * 'operator_key_exposed' (400) when others may read it, and key_file_invalid when it is not
 * a valid key file (naming the path, never the content).
 */
export async function loadOrCreateOperatorKey(dataDir: string): Promise<OperatorAccount> {
  const path = join(dataDir, OPERATOR_KEY_FILE);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await createKeyFile(path).catch((e: unknown) => {
    // Made by an earlier start (or a concurrent one): load it.
    if (!(e instanceof ObscuraError && e.code === 'key_file_exists')) throw e;
  });
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077) {
    throw new ObscuraError(
      'operator_key_exposed',
      `the operator key ${path} is readable by others (mode ${mode.toString(8)}); chmod 600 it`,
      400,
    );
  }
  const key = await loadAccountKey(path);
  const { mnemonic } = AccountKeyFileSchema.parse(JSON.parse(await readFile(path, 'utf8')));
  return { address: key.address, suri: mnemonic, path };
}
