/**
 * `obscura run`: sign a job request for a pipeline over datasets and submit it, and with
 * --wait follow it to its result.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ObscuraError } from '../../common/errors.ts';
import { loadAccountKey } from '../../crypto/index.ts';
import type { JobRecord } from '../../contracts/api-records.ts';
import { ApiClient } from '../client.ts';
import { signedRequestFor } from '../../client/job-request.ts';
import { describePreview, onlyApprovalPending, pendingApprovers } from './privacy.ts';
import { EXIT_AWAITING_APPROVAL, emit, type GlobalOptions, progressDone, progressLine } from '../output.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** name=id pairs; a name given several times binds a list (federated training across workers). */
function parseInputs(pairs: string[]): Record<string, string | string[]> {
  const inputs: Record<string, string | string[]> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) {
      throw new ObscuraError(
        'input_binding_invalid',
        `--input must look like name=<dataset id>, got ${pair}`,
        400,
      );
    }
    const [name, id] = [pair.slice(0, eq), pair.slice(eq + 1)];
    const had = inputs[name];
    inputs[name] = had === undefined ? id : [...(Array.isArray(had) ? had : [had]), id];
  }
  return inputs;
}

/**
 * Poll a job until it ends, drawing its progress. Throws the job's failure code (or
 * 'job_cancelled') with its reason, unless `settle`: then any final job is returned.
 */
export async function waitForJob(
  api: ApiClient,
  id: string,
  opts: { timeoutMs: number; quiet: boolean; settle?: boolean },
): Promise<JobRecord> {
  let last = '';
  const draw = (job: JobRecord) => {
    const line = `${job.status}: ${job.message}`;
    if (line !== last) progressLine(job.progress, line);
    last = line;
  };
  try {
    return await api.waitForJob(id, {
      timeoutMs: opts.timeoutMs,
      ...(opts.settle ? { settle: true } : {}),
      ...(opts.quiet ? {} : { onProgress: draw }),
    });
  } finally {
    if (!opts.quiet && last) progressDone();
  }
}

/** Register `run`. */
export function runCommand(program: Command): void {
  program
    .command('run')
    .argument('<pipeline>', 'pipeline document (YAML or JSON)')
    .requiredOption(
      '--input <name=id>',
      "bind a pipeline input to a dataset id (repeatable: the same name again binds the union of the datasets' rows, which may be on other nodes: a federated aggregate or training)",
      collect,
    )
    .requiredOption('--key <file>', "the analyst's account key file")
    .option('--purpose <text>', 'what the result is for (shown to owners asked to approve)')
    .option(
      '--dry-run',
      'print every check and the privacy cost without running anything (exit 1 if refused, 3 if it needs approval)',
    )
    .option(
      '--wait',
      'wait for the job and print its result id (a job that needs approval: exit 3 at once with its id)',
    )
    .option('--wait-approval', "with --wait, also wait while the job waits for its owners' approval")
    .option('--timeout <seconds>', 'how long --wait waits', '600')
    .action(
      async (
        file: string,
        opts: {
          input: string[];
          key: string;
          purpose?: string;
          dryRun?: boolean;
          wait?: boolean;
          waitApproval?: boolean;
          timeout: string;
        },
        cmd: Command,
      ) => {
        const g = cmd.optsWithGlobals<GlobalOptions>();
        const key = await loadAccountKey(opts.key);
        const pipeline = await readFile(file, 'utf8').catch((e: unknown) => {
          throw new ObscuraError('file_unreadable', `cannot read ${file}`, 400, undefined, { cause: e });
        });
        const api = new ApiClient(g.api, key);
        const body = {
          pipeline,
          inputs: parseInputs(opts.input),
          ...(opts.purpose ? { purpose: opts.purpose } : {}),
        };
        if (opts.dryRun) {
          // Signed as for the run: a node finds datasets of other nodes only for the analyst who asks.
          const request = await signedRequestFor(api, key, body);
          const preview = await api.dryRun({ ...body, request });
          emit(g, preview, describePreview(preview));
          if (!preview.ok) process.exitCode = onlyApprovalPending(preview) ? EXIT_AWAITING_APPROVAL : 1;
          return;
        }
        // The analyst signs what runs; the enclave takes the analyst from this signature only.
        const job = await api.submitJob(body);
        if (job.status === 'awaiting_approval') {
          const preview = await api.preview(job.id);
          const owners = pendingApprovers(preview);
          if (!g.json)
            process.stderr.write(
              `job ${job.id} waits for approval from ${owners.join(', ')} (they run: obscura approve ${job.id})\n`,
            );
          if (opts.wait && !opts.waitApproval) {
            // Waiting could take days: say so at once, with a code scripts can tell apart.
            if (!g.json) process.stderr.write('not waiting for the approval: add --wait-approval to wait\n');
            emit(g, { ...job, awaitingApprovalFrom: owners }, job.id);
            process.exitCode = EXIT_AWAITING_APPROVAL;
            return;
          }
        }
        if (!opts.wait) return emit(g, job, job.id);
        const done = await waitForJob(api, job.id, { timeoutMs: Number(opts.timeout) * 1000, quiet: g.json });
        emit(g, done, done.result ?? '');
      },
    );
}
