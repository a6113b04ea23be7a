/**
 * A dry run over datasets of other nodes. This node assesses its own datasets as for any
 * job; of the others it knows only what locating them told it (each is on a fresh node of
 * the chain's registry, which holds it and lets this analyst read it). Their owners'
 * policies, approvals and budgets are checked by their own nodes' enclaves when the job
 * runs, and the answer says so, naming each dataset's node, rather than passing them silently.
 */
import { ObscuraError } from '../../common/errors.ts';
import type { JobPreview } from '../../contracts/api-schemas.ts';
import type { LocatedDataset } from '../federation/locate.ts';

/**
 * The dry run's answer: this node's preview with a check and a warning naming the datasets
 * held elsewhere. Throws 422 'dry_run_remote_only' when every dataset is on other nodes
 * (nothing here to assess), saying where they are and when they are checked.
 */
export function dryRunPreview(
  preview: JobPreview | undefined,
  remote: ReadonlyMap<string, LocatedDataset>,
): JobPreview | undefined {
  if (remote.size === 0) return preview;
  const where = [...remote.values()].map((d) => `${d.id} on node ${d.node.url}`).join(', ');
  const when =
    "each node's enclave checks its own datasets against their owners' policies, approvals and budgets when the job runs, not in this dry run";
  if (!preview)
    throw new ObscuraError(
      'dry_run_remote_only',
      `every dataset of this job is on another node (${where}); each is there and readable by you, and ${when}`,
      422,
    );
  preview.checks.push({
    check: 'other nodes',
    ok: true,
    detail: `${where}: held there and readable by you; ${when}`,
  });
  preview.warnings.push({
    code: 'federation_checked_at_run',
    detail: `datasets on other nodes (${where}) are checked by their nodes when the job runs: the job can still be refused there`,
  });
  return preview;
}
