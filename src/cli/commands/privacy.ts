/**
 * Owners' privacy commands: `obscura approvals` (what waits for my approval), `obscura
 * approve JOB` (see what the job reads, outputs and spends, then sign the approval of its
 * pipeline on each of my datasets it needs, for the analyst and purpose of its signed
 * request, until an expiry, for a number of runs), `obscura refuse JOB --reason TEXT` (the
 * other answer: the job ends failed, with the reason), `obscura policy update DATASET` (replace the
 * policy or revoke) and `obscura budget DATASET` (what is left).
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { ObscuraError } from '../../common/errors.ts';
import { formatNumber as num } from '../../common/format-number.ts';
import { DatasetPolicyStateSchema, type JobPreview, JobPreviewSchema } from '../../contracts/api-schemas.ts';
import { type AccountKey, loadAccountKey } from '../../crypto/index.ts';
import { manifestHash } from '../../crypto/manifest.ts';
import {
  jobRequestSignatureValid,
  loadDatasetPolicy,
  purposeHash,
  signApproval,
  signPolicyUpdate,
} from '../../privacy/index.ts';
import { DatasetRecordSchema } from '../../contracts/api-records.ts';
import { ApiClient, clientFor, commandKey } from '../client.ts';
import { emit, type GlobalOptions } from '../output.ts';

/** The owners whose approval a job (or a dry run) still waits for. */
export function pendingApprovers(p: JobPreview): string[] {
  return [...new Set(p.inputs.filter((i) => i.approval === 'pending').map((i) => i.owner))];
}

/**
 * Whether a preview would be accepted once its owners approve: every failed check is the
 * missing approval, so the job would wait, not be refused.
 */
export function onlyApprovalPending(p: JobPreview): boolean {
  const failed = p.checks.filter((c) => !c.ok);
  return failed.length > 0 && failed.every((c) => c.code === 'policy_approval_required');
}

/** A check's marker: ok, FAIL (refused), or WAIT (needs an owner's approval). */
function checkMark(c: JobPreview['checks'][number]): string {
  if (c.ok) return 'ok  ';
  return c.code === 'policy_approval_required' ? 'WAIT' : 'FAIL';
}

/** A preview as people read it before approving. */
export function describePreview(p: JobPreview): string {
  const approvers = pendingApprovers(p);
  const lines = [
    `job ${p.job ?? '(dry run)'}: pipeline ${p.pipeline.name} (${p.pipeline.hash})`,
    `analyst ${p.analyst}${p.request ? ' (signed the job request)' : ''}`,
    `purpose: ${p.purpose ?? '(none given)'}`,
    ...p.inputs.map(
      (i) =>
        `input ${i.name}: dataset ${i.datasetName} (${i.dataset}) of ${i.owner}; reads ${i.columnsRead.join(', ') || 'no columns'}` +
        `; filters on ${i.uses.filter.join(', ') || '-'}; derives from ${i.uses.derive.join(', ') || '-'}` +
        `; groups by ${i.uses.group_by.join(', ') || '-'}; aggregates ${i.uses.aggregate.join(', ') || '-'}; joins on ${i.uses.join_on.join(', ') || '-'}` +
        `; trains on ${[...i.uses.feature, ...i.uses.label].join(', ') || '-'}; outputs ${i.uses.output.join(', ') || '-'}; approval ${i.approval}`,
    ),
    ...p.outputs.map((o) => `output ${o.step}: ${o.columns.join(', ')} (min group size ${o.minGroupSize})`),
    `privacy cost: epsilon ${num(p.cost.epsilon)}, delta ${num(p.cost.delta)}`,
    ...p.checks.map((c) => `${checkMark(c)} ${c.check}: ${c.detail}`),
    ...p.warnings.map((w) => `WARN ${w.code}: ${w.detail}`),
  ];
  if (!p.ok && onlyApprovalPending(p))
    lines.push(`needs approval from ${approvers.join(', ')}: the job would wait for it, not be refused`);
  else if (!p.ok) lines.push('refused: the job would not run');
  return lines.join('\n');
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY)
    throw new ObscuraError(
      'confirmation_needed',
      'not a terminal: pass --yes to approve without a prompt',
      400,
    );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

async function datasetHash(api: ApiClient, id: string): Promise<{ id: string; hash: string; owner: string }> {
  const d = DatasetRecordSchema.parse(await api.get(`/v1/datasets/${encodeURIComponent(id)}`));
  return { id: d.id, hash: manifestHash(d.manifest.manifest), owner: d.owner };
}

/** `30d`, `12h`, `90m` from now, or an ISO date; throws 'approval_expiry_invalid'. */
export function parseExpiry(text: string, now = new Date()): Date {
  const m = /^(\d+)([dhm])$/.exec(text.trim());
  const t = m
    ? now.getTime() + Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm']
    : Date.parse(text);
  if (!Number.isFinite(t) || t <= now.getTime()) {
    throw new ObscuraError(
      'approval_expiry_invalid',
      `--expires must be a time in the future, as 30d, 12h, 90m or an ISO date; got ${text}`,
      400,
    );
  }
  return new Date(t);
}

/** The analyst and purpose to approve for: from the job's signed request, checked, never the host's word alone. */
function approvedFor(preview: JobPreview): { analyst: string; purpose: string } {
  const signed = preview.request;
  if (!signed)
    throw new ObscuraError(
      'job_request_missing',
      `job ${preview.job} carries no signed job request to approve`,
      422,
    );
  if (!jobRequestSignatureValid(signed))
    throw new ObscuraError(
      'job_request_signature_invalid',
      `the job request of job ${preview.job} is not signed by its analyst`,
      422,
    );
  const r = signed.request;
  if (
    r.analyst !== preview.analyst ||
    r.purpose !== (preview.purpose ?? '') ||
    r.pipeline !== preview.pipeline.hash
  ) {
    throw new ObscuraError(
      'job_request_mismatch',
      `the host's preview of job ${preview.job} does not match the analyst's signed request`,
      422,
    );
  }
  return { analyst: r.analyst, purpose: r.purpose };
}

async function approve(
  api: ApiClient,
  key: AccountKey,
  jobId: string,
  opts: { yes: boolean; expiresAt: Date; runs: number },
  g: GlobalOptions,
): Promise<void> {
  const preview = JobPreviewSchema.parse(await api.get(`/v1/jobs/${encodeURIComponent(jobId)}/preview`));
  const mine = preview.inputs.filter((i) => i.owner === key.address && i.approval === 'pending');
  if (mine.length === 0)
    throw new ObscuraError('nothing_to_approve', `job ${jobId} waits for no approval by ${key.address}`, 409);
  const { analyst, purpose } = approvedFor(preview);
  const terms = `for analyst ${analyst} and this purpose only, ${opts.runs} run(s), until ${opts.expiresAt.toISOString()}`;
  if (!g.json) process.stderr.write(`${describePreview(preview)}\napproval: ${terms}\n`);
  if (
    !opts.yes &&
    !(await confirm(
      `approve pipeline ${preview.pipeline.hash} on ${mine.map((i) => i.datasetName).join(', ')} ${terms}?`,
    ))
  ) {
    throw new ObscuraError('approval_declined', 'not approved', 400);
  }
  const released = new Set<string>();
  for (const input of mine) {
    const { hash } = await datasetHash(api, input.dataset);
    const signed = signApproval(
      {
        dataset: hash,
        pipeline: preview.pipeline.hash,
        analyst,
        purpose: purposeHash(purpose),
        expiresAt: opts.expiresAt,
        runs: opts.runs,
      },
      key,
    );
    const r = (await api.post('/v1/approvals', signed)) as { released: string[] };
    for (const id of r.released) released.add(id);
  }
  emit(
    g,
    {
      approved: mine.map((i) => i.dataset),
      analyst,
      purposeSha256: purposeHash(purpose),
      expiresAt: opts.expiresAt.toISOString(),
      runs: opts.runs,
      released: [...released],
    },
    `approved pipeline ${preview.pipeline.hash} on ${mine.map((i) => i.dataset).join(', ')} ${terms}; jobs released: ${[...released].join(', ') || 'none yet'}`,
  );
}

/** Register `approvals`, `approve`, `refuse`, `policy` and `budget`. */
export function privacyCommands(program: Command): void {
  program
    .command('approvals')
    .option('--key <file>', 'your account key file (default OBSCURA_KEY)')
    .option('--all', 'also the jobs that wait for other owners (those you ran)')
    .action(async (opts: { key?: string; all?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const key = await commandKey(opts.key);
      if (!key)
        throw new ObscuraError(
          'key_required',
          'approvals are shown to the owners concerned and the requesting analyst: give --key <key file> or set OBSCURA_KEY',
          400,
        );
      const query = opts.all ? '' : `?owner=${key.address}`;
      const body = (await new ApiClient(g.api, key).get(`/v1/approvals${query}`)) as { pending: unknown[] };
      const pending = body.pending.map((p) => JobPreviewSchema.parse(p));
      emit(
        g,
        { pending },
        pending.length ? pending.map(describePreview).join('\n\n') : 'nothing waits for approval',
      );
    });
  program
    .command('approve')
    .argument('<job>', 'job id')
    .requiredOption('--key <file>', "the dataset owner's account key file")
    .option('--expires <when>', 'when the approval ends: 30d, 12h, 90m from now, or an ISO date', '30d')
    .option('--runs <n>', 'how many jobs may run under the approval', '1')
    .option('--yes', 'approve without asking')
    .action(
      async (
        job: string,
        opts: { key: string; expires: string; runs: string; yes?: boolean },
        cmd: Command,
      ) => {
        const g = cmd.optsWithGlobals<GlobalOptions>();
        const runs = Number(opts.runs);
        if (!Number.isSafeInteger(runs) || runs < 1 || runs > 1_000_000)
          throw new ObscuraError(
            'approval_runs_invalid',
            `--runs must be a whole number from 1 to 1000000, got ${opts.runs}`,
            400,
          );
        const expiresAt = parseExpiry(opts.expires);
        const key = await loadAccountKey(opts.key);
        await approve(new ApiClient(g.api, key), key, job, { yes: opts.yes === true, expiresAt, runs }, g);
      },
    );
  program
    .command('refuse')
    .argument('<job>', 'job id')
    .requiredOption('--key <file>', "the dataset owner's account key file")
    .requiredOption('--reason <text>', 'why (one line; the analyst reads it)')
    .action(async (job: string, opts: { key: string; reason: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const key = await loadAccountKey(opts.key);
      const r = (await new ApiClient(g.api, key).post(`/v1/jobs/${encodeURIComponent(job)}/refusal`, {
        reason: opts.reason,
      })) as { id: string; status: string };
      emit(g, r, `refused job ${r.id}: it will not run (${r.status})`);
    });
  const policy = program.command('policy');
  policy
    .command('update')
    .description("replace a dataset's policy with a newer signed version, or revoke the dataset for good")
    .argument('<dataset>', 'dataset id')
    .requiredOption('--key <file>', "the dataset owner's account key file")
    .option('--policy-file <file>', 'the new dataset policy (YAML)')
    .option('--revoke', 'revoke the dataset: no job may use it again')
    .action(
      async (id: string, opts: { key: string; policyFile?: string; revoke?: boolean }, cmd: Command) => {
        const g = cmd.optsWithGlobals<GlobalOptions>();
        if ((opts.policyFile === undefined) === (opts.revoke !== true)) {
          throw new ObscuraError(
            'policy_update_invalid',
            'give exactly one of --policy-file and --revoke',
            400,
          );
        }
        const key = await loadAccountKey(opts.key);
        const api = new ApiClient(g.api, key);
        const d = await datasetHash(api, id);
        if (d.owner !== key.address)
          throw new ObscuraError(
            'policy_update_not_owner',
            `dataset ${d.id} belongs to ${d.owner}, not ${key.address}`,
            403,
          );
        const newPolicy = opts.policyFile ? await loadDatasetPolicy(opts.policyFile) : undefined;
        // The next version: the host says which is current; the enclave refuses anything else.
        const version =
          DatasetPolicyStateSchema.parse(await api.get(`/v1/datasets/${d.id}/policy`)).version + 1;
        const signed = signPolicyUpdate(
          {
            dataset: d.hash,
            version,
            ...(newPolicy ? { policy: newPolicy } : {}),
            revoked: opts.revoke === true,
          },
          key,
        );
        const r = (await api.post(`/v1/datasets/${d.id}/policy`, signed)) as { ledgerSeq: number };
        emit(
          g,
          r,
          `${opts.revoke ? 'revoked dataset' : `policy version ${version} in force for dataset`} ${d.id} (ledger entry #${r.ledgerSeq} anchored)`,
        );
      },
    );
  program
    .command('budget')
    .argument('<dataset>', 'dataset id')
    .option('--key <file>', 'your account key file (default OBSCURA_KEY)')
    .action(async (id: string, opts: { key?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const api = await clientFor(g.api, opts.key);
      const b = await api.budget(id);
      const amount = (a: { total: number | null; spent: number; remaining: number | null }) =>
        a.total === null
          ? `${num(a.spent)} spent (no limit)`
          : `${num(a.remaining ?? 0)} of ${num(a.total)} left (${num(a.spent)} spent)`;
      emit(
        g,
        b,
        `dataset ${b.dataset}: epsilon ${amount(b.epsilon)}; delta ${amount(b.delta)}; ${b.spends.length} spend(s) anchored`,
      );
    });
}
