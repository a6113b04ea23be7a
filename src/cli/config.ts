/**
 * The user's own CLI configuration: a JSON file the user writes, so that what a verifier
 * trusts (which chain it checks results against) comes from the user and not from the API
 * host it is checking. Location: `--config FILE`, else OBSCURA_CONFIG, else
 * `$XDG_CONFIG_HOME/obscura/config.json` (default `~/.config/obscura/config.json`).
 *
 *   { "verify": { "chain": "wss://rpc.example.org", "genesisHash": "0x…", "block1Hash": "0x…" } }
 *
 * A missing file at the default location is no configuration; a missing file that was named
 * explicitly, or a file that does not parse, is an error naming the path.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ChainHashSchema } from '../chain/schemas.ts';
import { ObscuraError } from '../common/errors.ts';

/** The `verify` section: the chain a verifier pins. */
export const VerifyConfigSchema = z
  .object({
    /** WebSocket endpoint of the chain results are checked against. */
    chain: z
      .string()
      .regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL')
      .optional(),
    /** Genesis hash the chain must report (and every checked result must name). */
    genesisHash: ChainHashSchema.optional(),
    /** Hash of block #1 (tells embedded chains apart, whose genesis hash is a placeholder). */
    block1Hash: ChainHashSchema.optional(),
  })
  .strict();
export type VerifyConfig = z.infer<typeof VerifyConfigSchema>;

/** The whole configuration file. */
export const CliConfigSchema = z.object({ verify: VerifyConfigSchema.optional() }).strict();
export type CliConfig = z.infer<typeof CliConfigSchema>;

/** Where the configuration is read from when neither --config nor OBSCURA_CONFIG names a file. */
export function defaultConfigPath(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'obscura', 'config.json');
}

/** Load the configuration at `explicit`, OBSCURA_CONFIG or the default path; throws 'config_invalid' naming the path. */
export async function loadCliConfig(
  explicit?: string,
): Promise<{ path: string; config: CliConfig; found: boolean }> {
  const named = explicit ?? process.env.OBSCURA_CONFIG;
  const path = named ?? defaultConfigPath();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (!named && (e as NodeJS.ErrnoException).code === 'ENOENT') return { path, config: {}, found: false };
    throw new ObscuraError(
      'config_invalid',
      `cannot read the configuration file ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      400,
      undefined,
      { cause: e },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ObscuraError('config_invalid', `the configuration file ${path} is not JSON`, 400);
  }
  const parsed = CliConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ObscuraError(
      'config_invalid',
      `the configuration file ${path}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      400,
    );
  }
  return { path, config: parsed.data, found: true };
}
