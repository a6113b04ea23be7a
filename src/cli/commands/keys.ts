/** `obscura keys new`: make an sr25519 account key file. */
import type { Command } from 'commander';
import { createKeyFile } from '../../crypto/index.ts';
import { emit } from '../output.ts';

/** Register `keys`. */
export function keysCommand(program: Command): void {
  const keys = program.command('keys');
  keys
    .command('new')
    .description('make a new sr25519 account key file (mode 0600) and print its address')
    .requiredOption('--out <file>', 'where to write the key file')
    .option('--force', 'overwrite an existing file')
    .action(async (opts: { out: string; force?: boolean }, cmd: Command) => {
      const { address } = await createKeyFile(opts.out, { force: opts.force === true });
      emit(cmd.optsWithGlobals(), { address, file: opts.out }, address);
    });
}
