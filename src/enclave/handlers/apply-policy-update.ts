/**
 * `apply_policy_update`: record an owner's policy update (or revocation) on the ledger. The
 * owner's signatures and the version in force are checked as jobs check them
 * (policy-in-force.ts); an update must be newer than that version, and a revoked dataset's
 * policy never changes again.
 */
import { dropWarmDataset } from '../../data/index.ts';
import { statementHash } from '../../privacy/statements.ts';
import { assertNotRevoked, assertNotStale, policyInForce } from '../policy-in-force.ts';
import { handler } from './handler.ts';

export const applyPolicyUpdate = handler('apply_policy_update', async (req, cx) => {
  const { hash, known } = policyInForce(req.manifest, req.update, cx.ledger);
  const label = `dataset ${req.datasetId}`;
  assertNotRevoked(known.revoked, `${label} is revoked; its policy cannot change`, 409);
  const version = req.update.update.version;
  // An update equal to the version in force is stale too: it was applied already.
  assertNotStale(
    version <= known.version,
    `policy version ${version} of ${label} is not newer than version ${known.version}`,
  );
  await cx.ledger.ensureFresh();
  const ledger = cx.ledger.applyPolicy(hash, version, req.update.update.revoked, statementHash(req.update));
  // A revoked dataset's decrypted rows leave the warm cache now, not when evicted.
  if (req.update.update.revoked) dropWarmDataset(hash);
  return { ledger };
});
