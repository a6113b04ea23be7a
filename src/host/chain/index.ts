/**
 * The chain the host runs for itself: the embedded chopsticks chain and its operator key.
 * Host-only: the enclave and verifiers reach a chain through src/chain's client.
 */
import type { EmbeddedChain, EmbeddedChainOptions } from './embedded.ts';

export type { EmbeddedChain, EmbeddedChainOptions } from './embedded.ts';

/**
 * Starts the embedded chain (see embedded.ts), loading chopsticks only when called so that
 * importers that never start one stay light. Throws 'chain_port_in_use' (409) naming the
 * port, 'chain_start_failed' (500) otherwise.
 */
export async function startEmbeddedChain(opts: EmbeddedChainOptions): Promise<EmbeddedChain> {
  const embedded = await import('./embedded.ts');
  return embedded.startEmbeddedChain(opts);
}
export { loadOrCreateOperatorKey, OPERATOR_KEY_FILE, type OperatorAccount } from './operator.ts';
export { type ChainProcess, startEmbeddedChainProcess } from './process.ts';
