/**
 * The `obscura` command line. Every command takes --api and --json, prints one line on
 * failure (message and code, no stack) and exits non-zero.
 *
 * Only the module of the command being run is imported (commands/index.ts): a CLI call
 * pays for what it uses, and `obscura --help` for nothing but commander.
 */
import { Command, CommanderError } from 'commander';
import { didYouMean } from '../common/did-you-mean.ts';
import { ObscuraError } from '../common/errors.ts';
import { COMMANDS, commandWord, findCommand } from './commands/index.ts';
import { quietPolkadot } from '../chain/quiet-logs.ts';
import { preferSmallBaseTable } from '../crypto/base-table.ts';

/** Commands that serve until stopped: long-lived processes, unlike every other command. */
const SERVERS = new Set(['serve', 'dashboard']);

async function main(argv: string[]): Promise<void> {
  const program = new Command('obscura')
    .description(
      'Private, federated data analytics: seal datasets to attested enclaves, run pipelines, verify results.',
    )
    .option('--api <url>', 'API base URL (default: OBSCURA_API, else http://127.0.0.1:8787)')
    .option('--json', 'machine-readable output', false)
    .showHelpAfterError()
    .exitOverride()
    // The default is read when a command runs: parsing the environment loads zod, which
    // `--help` does not need.
    .hook('preAction', async () => {
      if (program.opts<{ api?: string }>().api !== undefined) return;
      const { DEFAULTS, env } = await import('../common/env.ts');
      program.setOptionValue('api', env().OBSCURA_API ?? DEFAULTS.api);
    });
  const word = commandWord(argv.slice(2));
  const wanted = findCommand(word ?? '');
  if (word !== undefined && !wanted) {
    const names = COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
    throw new ObscuraError(
      'command_unknown',
      `unknown command ${word}${didYouMean(word, names)}; obscura --help lists the commands`,
      400,
    );
  }
  if (wanted) {
    if (wanted.name !== 'serve' && !process.env['OBSCURA_DEBUG']) quietPolkadot();
    // A call that loads a key once or twice and exits: a small curve table (base-table.ts).
    if (!SERVERS.has(wanted.name)) preferSmallBaseTable();
    (await wanted.load())(program);
  } else {
    // No command: name them all for the help text, loading none.
    for (const c of COMMANDS) program.command(c.name).aliases(c.aliases ?? []);
  }
  for (const cmd of program.commands) {
    const entry = findCommand(cmd.name());
    if (entry) cmd.description(entry.summary);
  }
  await program.parseAsync(argv);
}

main(process.argv).catch(async (e: unknown) => {
  if (e instanceof CommanderError) {
    // commander has printed its own message (usage errors, --help, --version).
    process.exit(e.exitCode);
  }
  // Loaded here: the problem schema needs zod, which `--help` does not.
  const { failureLine, failureProblem } = await import('./output.ts');
  // --json callers parse what they get: a failure is then a problem document, not prose.
  const json = process.argv.includes('--json');
  process.stderr.write(`${json ? JSON.stringify(failureProblem(e)) : failureLine(e)}\n`);
  process.exit(1);
});
