/** `budget`: a dataset's privacy budget as this enclave's ledger has it, under the policy in force. */
import { withPolicyUpdate } from '../../privacy/statements.ts';
import { policyInForce } from '../policy-in-force.ts';
import { handler } from './handler.ts';

export const budget = handler('budget', async (req, cx) => {
  const { hash } = policyInForce(req.manifest, req.policyUpdate, cx.ledger);
  const dp = withPolicyUpdate(req.manifest.manifest, req.policyUpdate?.update).policy?.dp;
  return cx.ledger.budget(hash, {
    ...(dp?.epsilon !== undefined ? { epsilon: dp.epsilon } : {}),
    ...(dp?.delta !== undefined ? { delta: dp.delta } : {}),
  });
});
