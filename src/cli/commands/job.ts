/** `obscura job`: look at a job, follow it, or cancel it. */
import type { Command } from 'commander';
import { ObscuraError } from '../../common/errors.ts';
import type { JobRecord } from '../../contracts/api-records.ts';
import { clientFor } from '../client.ts';
import { emit, type GlobalOptions } from '../output.ts';
import { waitForJob } from './run.ts';

/** One line about a job: its id, status, message and, once ended, its result or failure. */
export function describeJob(job: JobRecord): string {
  const end = job.result
    ? ` result ${job.result}`
    : job.error
      ? ` (${job.error.code}: ${job.error.message})`
      : '';
  return `${job.id} ${job.status}: ${job.message}${end}`;
}

/** Register `job show` and `job cancel`. */
export function jobCommand(program: Command): void {
  const job = program.command('job');
  job
    .command('show')
    .description("print a job's status (with --wait, follow it until it ends)")
    .argument('<id>', 'job id')
    .option(
      '--key <file>',
      "your account key file (default OBSCURA_KEY): the job's analyst or an owner of its inputs",
    )
    .option('--wait', 'wait until the job ends')
    .option('--timeout <seconds>', 'how long --wait waits', '600')
    .action(async (id: string, opts: { key?: string; wait?: boolean; timeout: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const api = await clientFor(g.api, opts.key);
      const record = opts.wait
        ? await waitForJob(api, id, { timeoutMs: Number(opts.timeout) * 1000, quiet: g.json })
        : await api.job(id);
      emit(g, record, describeJob(record));
    });
  job
    .command('cancel')
    .description('cancel a queued or running job you submitted (it ends cancelled)')
    .argument('<id>', 'job id')
    .option('--key <file>', "the job's analyst's account key file (default OBSCURA_KEY)")
    .option('--wait', 'wait until a running job has stopped')
    .option('--timeout <seconds>', 'how long --wait waits', '120')
    .action(async (id: string, opts: { key?: string; wait?: boolean; timeout: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const api = await clientFor(g.api, opts.key);
      if (!api.signed)
        throw new ObscuraError(
          'key_required',
          "only the job's analyst can cancel it: give --key <key file> or set OBSCURA_KEY",
          400,
        );
      let record = await api.cancelJob(id);
      if (opts.wait && record.status !== 'cancelled') {
        record = await waitForJob(api, id, {
          timeoutMs: Number(opts.timeout) * 1000,
          quiet: true,
          settle: true,
        });
      }
      emit(g, record, describeJob(record));
    });
}
