/** `obscura upgrade authorize`: an operator anchors the authorisation of an enclave upgrade. */
import type { Command } from 'commander';
import { loadAccountKey } from '../../crypto/index.ts';
import { signUpgradeAuthorization } from '../../contracts/upgrade-authorization.ts';
import { UpgradeAuthorizationSchema } from '../../contracts/api-records.ts';
import { ApiClient } from '../client.ts';
import { emit, type GlobalOptions } from '../output.ts';

/** Register `upgrade`. */
export function upgradeCommand(program: Command): void {
  const upgrade = program.command('upgrade');
  upgrade
    .command('authorize')
    .description('anchor on the chain that enclave code --to may succeed code --from (operators only)')
    .requiredOption('--from <measurement>', 'measurement of the running enclave code')
    .requiredOption(
      '--to <measurement>',
      'measurement of the new enclave code (`obscura measure` in its checkout)',
    )
    .requiredOption(
      '--key <file>',
      "an operator's account key file: the host's <data dir>/operator.key, or an account in OBSCURA_OPERATORS when the workers were first started",
    )
    .action(async (opts: { from: string; to: string; key: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const key = await loadAccountKey(opts.key);
      const api = new ApiClient(g.api, key);
      const a = UpgradeAuthorizationSchema.parse(
        await api.post('/v1/upgrades', signUpgradeAuthorization(opts.from, opts.to, key)),
      );
      emit(
        g,
        a,
        `upgrade ${a.from} → ${a.to} authorised in block #${a.receipt.blockNumber} (${a.receipt.blockHash})`,
      );
    });
}
