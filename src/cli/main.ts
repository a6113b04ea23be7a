/**
 * The `obscura` command line. Every command takes --api and --json, prints one line on
 * failure (message and code, no stack) and exits non-zero.
 */
import { Command, CommanderError } from 'commander';
import { DEFAULTS, env } from '../common/env.ts';
import { attestCommand } from './commands/attest.ts';
import { dashboardCommand } from './commands/dashboard.ts';
import { inspectCommand } from './commands/inspect.ts';
import { jobCommand } from './commands/job.ts';
import { keysCommand } from './commands/keys.ts';
import { listCommands } from './commands/lists.ts';
import { measureCommand } from './commands/measure.ts';
import { pipelineCommand } from './commands/pipeline.ts';
import { privacyCommands } from './commands/privacy.ts';
import { resultCommand } from './commands/result.ts';
import { runCommand } from './commands/run.ts';
import { sealCommand } from './commands/seal.ts';
import { serveCommand } from './commands/serve.ts';
import { upgradeCommand } from './commands/upgrade.ts';
import { uploadCommand } from './commands/upload.ts';
import { verifyCommand } from './commands/verify.ts';
import { workersCommand } from './commands/workers.ts';
import { failureLine, failureProblem } from './output.ts';

async function main(argv: string[]): Promise<void> {
  const program = new Command('obscura')
    .description(
      'Private, federated data analytics: seal datasets to attested enclaves, run pipelines, verify results.',
    )
    .option('--api <url>', 'API base URL (or OBSCURA_API)', env().OBSCURA_API ?? DEFAULTS.api)
    .option('--json', 'machine-readable output', false)
    .showHelpAfterError()
    .exitOverride();
  for (const register of [
    keysCommand,
    workersCommand,
    attestCommand,
    measureCommand,
    sealCommand,
    inspectCommand,
    pipelineCommand,
    uploadCommand,
    runCommand,
    jobCommand,
    listCommands,
    privacyCommands,
    resultCommand,
    verifyCommand,
    upgradeCommand,
    serveCommand,
    dashboardCommand,
  ]) {
    register(program);
  }
  await program.parseAsync(argv);
}

main(process.argv).catch((e: unknown) => {
  if (e instanceof CommanderError) {
    // commander has printed its own message (usage errors, --help, --version).
    process.exit(e.exitCode);
  }
  // --json callers parse what they get: a failure is then a problem document, not prose.
  const json = process.argv.includes('--json');
  process.stderr.write(`${json ? JSON.stringify(failureProblem(e)) : failureLine(e)}\n`);
  process.exit(1);
});
