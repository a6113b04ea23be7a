/**
 * `obscura jobs`, `obscura datasets`, `obscura pipelines`: what the signing account may see,
 * one line an item (or the API's JSON with --json), so an analyst whose job waits for
 * approval, or who ran without --wait, can find it again without curl.
 */
import type { Command } from 'commander';
import { ObscuraError } from '../../common/errors.ts';
import { JobStatusSchema } from '../../contracts/api-records.ts';
import { clientFor } from '../client.ts';
import { emit, type GlobalOptions } from '../output.ts';
import { describeJob } from './job.ts';

const KEY_HELP = 'your account key file (default OBSCURA_KEY)';
const OPTIONAL_KEY_HELP = `${KEY_HELP}; without one, only public jobs are listed`;

/** Register `jobs`, `datasets` and `pipelines`. */
export function listCommands(program: Command): void {
  program
    .command('jobs')
    .option('--key <file>', OPTIONAL_KEY_HELP)
    .option('--status <status>', `only jobs in this state (${JobStatusSchema.options.join(', ')})`)
    .action(async (opts: { key?: string; status?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const status = opts.status === undefined ? undefined : JobStatusSchema.safeParse(opts.status);
      if (status && !status.success) {
        throw new ObscuraError(
          'status_unknown',
          `--status ${opts.status} is not a job state; use one of ${JobStatusSchema.options.join(', ')}`,
          400,
        );
      }
      const api = await clientFor(g.api, opts.key);
      const shown = await api.jobs(status?.data === undefined ? {} : { status: status.data });
      emit(
        g,
        { jobs: shown },
        shown.map((j) => `${describeJob(j)}  [${j.pipeline.name}, ${j.createdAt}]`).join('\n') || 'no jobs',
      );
    });
  program
    .command('datasets')
    .option('--key <file>', KEY_HELP)
    .action(async (opts: { key?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const api = await clientFor(g.api, opts.key);
      const datasets = await api.datasets();
      const text = datasets.map((d) => {
        const columns = d.schema.map((c) => `${c.name}:${c.type}`).join(', ');
        return `${d.id}  ${d.name}  owner ${d.owner}  worker ${d.worker}  ${d.format}, ${d.rows} rows\n  columns  ${columns}`;
      });
      emit(g, { datasets }, text.join('\n') || 'no datasets');
    });
  program
    .command('pipelines')
    .option('--key <file>', KEY_HELP)
    .action(async (opts: { key?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const api = await clientFor(g.api, opts.key);
      const pipelines = await api.pipelines();
      emit(
        g,
        { pipelines },
        pipelines.map((p) => `${p.hash}  ${p.name}  (${p.createdAt})`).join('\n') || 'no pipelines',
      );
    });
}
