/** `obscura upgrade authorize`: an operator anchors the authorisation of an enclave upgrade. */
import type { Command } from 'commander';
import { loadAccountKey } from '../../crypto/index.ts';
import { UpgradeAuthorizationSchema } from '../../store/records.ts';
import { ApiClient } from '../client.ts';
import { emit, type GlobalOptions } from '../output.ts';

/** Register `upgrade`. */
export function upgradeCommand(program: Command): void {
  const upgrade = program.command('upgrade').description('enclave code upgrades');
  upgrade
    .command('authorize')
    .description('anchor on the chain that enclave code --to may succeed code --from (operators only)')
    .requiredOption('--from <measurement>', 'measurement of the running enclave code')
    .requiredOption('--to <measurement>', 'measurement of the new enclave code (`obscura measure` in its checkout)')
    .requiredOption('--key <file>', "an operator's account key file (the host lists operators in OBSCURA_OPERATORS)")
    .action(async (opts: { from: string; to: string; key: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const api = new ApiClient(g.api, await loadAccountKey(opts.key));
      const a = UpgradeAuthorizationSchema.parse(await api.post('/v1/upgrades', { from: opts.from, to: opts.to }));
      emit(g, a, `upgrade ${a.from} → ${a.to} authorised in block #${a.receipt.blockNumber} (${a.receipt.blockHash})`);
    });
}
