/**
 * A dataset's privacy after upload: its owner replaces the policy or revokes the dataset
 * (`POST /v1/datasets/{id}/policy`, a signed policy update the dataset's worker applies to
 * its ledger, anchored on chain before the update is acknowledged), and the owner and the
 * analysts the policy allows read the remaining budget (`GET /v1/datasets/{id}/budget`, as
 * the worker's enclave counts it, with the spends anchored so far).
 */
import { Router } from 'express';
import { isObscuraError, ObscuraError } from '../../../common/errors.ts';
import { failpoint } from '../../../common/failpoint.ts';
import { manifestHash } from '../../../crypto/manifest.ts';
import {
  type LedgerEntry,
  type SignedLedgerEntry,
  SignedLedgerEntrySchema,
} from '../../../contracts/ledger.ts';
import { assertPolicyUpdate, parseSignedPolicyUpdate } from '../../../privacy/index.ts';
import { effectiveManifest } from '../assess.ts';
import type { HostContext } from '../context.ts';
import { placeLedgerEntry } from '../ledger.ts';
import { settleWaitingJobs } from './approvals.ts';
import type { DatasetBudget, DatasetPolicyState } from '../../../contracts/api-schemas.ts';

/** Routes under /v1/datasets/{id}/policy and /budget. */
export function datasetPrivacyRoutes(ctx: HostContext): Router {
  const r = Router();
  r.post('/datasets/:id/policy', async (req, res) => {
    const dataset = ctx.metadata.dataset(req.params.id as string);
    if (req.account !== dataset.owner)
      throw new ObscuraError(
        'policy_update_not_owner',
        `only the owner ${dataset.owner} may update the policy of dataset ${dataset.id}`,
        403,
      );
    const signed = parseSignedPolicyUpdate(req.body);
    const hash = manifestHash(dataset.manifest.manifest);
    assertPolicyUpdate(signed, dataset.manifest.manifest, hash);
    const current = ctx.privacy.latestPolicyUpdate(dataset.id)?.update;
    if (current?.revoked)
      throw new ObscuraError(
        'dataset_revoked',
        `dataset ${dataset.id} is revoked; its policy cannot change`,
        409,
      );
    const expected = (current?.version ?? 1) + 1;
    if (signed.update.version !== expected) {
      throw new ObscuraError(
        'policy_update_version',
        `the next policy version of dataset ${dataset.id} is ${expected}, not ${signed.update.version}`,
        409,
        { expected },
      );
    }
    // Recorded first: a host that dies before the worker answers learns at its next start,
    // from the worker's ledger, whether the update was applied (src/api/ledger.ts).
    ctx.privacy.putPendingPolicyUpdate(dataset.id, signed);
    let ledger: SignedLedgerEntry;
    try {
      ({ ledger } = await ctx.workers.get(dataset.worker).request('apply_policy_update', {
        datasetId: dataset.id,
        manifest: dataset.manifest,
        update: signed,
      }));
    } catch (e) {
      // A refusal leaves nothing applied; an enclave that died may have applied it, which
      // the recovery after its restart settles.
      if (!isObscuraError(e, 'enclave_crashed'))
        ctx.privacy.dropPendingPolicyUpdate(dataset.id, signed.update.version);
      throw e;
    }
    failpoint('policy.applied');
    // The enclave applied it: from here on it refuses jobs that carry an older version.
    ctx.privacy.promotePolicyUpdate(dataset.id, signed);
    await placeLedgerEntry(ctx, dataset.worker, ledger);
    settleWaitingJobs(ctx);
    ctx.log(
      'info',
      `owner ${dataset.owner} ${signed.update.revoked ? 'revoked dataset' : `set policy version ${signed.update.version} of dataset`} ${dataset.id}`,
    );
    res.status(201).json({ update: signed, ledgerSeq: ledger.entry.seq });
  });
  r.get('/datasets/:id/policy', (req, res) => {
    const dataset = ctx.metadata.dataset(req.params.id as string);
    const update = ctx.privacy.latestPolicyUpdate(dataset.id);
    const { manifest, revoked } = effectiveManifest(ctx, dataset);
    const out: DatasetPolicyState = {
      dataset: dataset.id,
      version: update?.update.version ?? 1,
      revoked,
      ...(manifest.policy ? { policy: manifest.policy } : {}),
      ...(update ? { update } : {}),
    };
    res.json(out);
  });
  // Readers of the dataset only (the route table's rule, enforced by src/host/api/access.ts).
  r.get('/datasets/:id/budget', async (req, res) => {
    const dataset = ctx.metadata.dataset(req.params.id as string);
    const policyUpdate = ctx.privacy.latestPolicyUpdate(dataset.id);
    const view = await ctx.workers.get(dataset.worker).request('budget', {
      datasetId: dataset.id,
      manifest: dataset.manifest,
      ...(policyUpdate ? { policyUpdate } : {}),
    });
    const hash = manifestHash(dataset.manifest.manifest);
    const spends = ctx.privacy.ledgerEntries(dataset.worker).flatMap((stored) => {
      const parsed = SignedLedgerEntrySchema.safeParse(stored.document);
      if (!parsed.success) return [];
      const body: LedgerEntry['body'] = parsed.data.entry.body;
      if (body.kind !== 'spend') return [];
      return body.charges
        .filter((c) => c.dataset === hash)
        .map((c) => ({
          seq: stored.seq,
          job: body.job,
          epsilon: c.epsilon,
          delta: c.delta,
          blockNumber: stored.placement.blockNumber,
          blockHash: stored.placement.blockHash,
        }));
    });
    const out: DatasetBudget = { dataset: dataset.id, ...view, spends };
    res.json(out);
  });
  return r;
}
