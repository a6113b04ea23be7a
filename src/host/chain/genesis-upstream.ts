/**
 * The embedded chain's upstream. Chopsticks asks its upstream for any block it does not hold
 * (a hash or a number a caller named over RPC), and chopsticks' GenesisProvider answers every
 * such question with the genesis block, whatever was asked. So one public RPC call naming an
 * unknown block hash (`chain_getBlock(0x77…)`, as verifying a forged anchor receipt does) had
 * chopsticks register the genesis header under that hash as block #0: every client that
 * connected afterwards read that hash as the genesis hash, signed transactions with it and was
 * refused by the runtime (1010 badProof), so no node could join any more. This upstream knows
 * block #0 only, and says so for every other block: chopsticks then answers "not found".
 */
import { type Genesis, GenesisProvider } from '@acala-network/chopsticks-core';

/** A GenesisProvider for `spec` that answers for the genesis block alone (see above). */
export function genesisUpstream(spec: Genesis): GenesisProvider {
  const provider = new GenesisProvider(spec);
  const send = provider.send;
  provider.send = async (method, params, cacheable) => {
    const [at] = params;
    if (
      (method === 'chain_getHeader' || method === 'chain_getBlock') &&
      at != null &&
      at !== provider.blockHash
    )
      return null;
    if (method === 'chain_getBlockHash' && at != null && Number(at) !== 0) return null;
    return send(method, params, cacheable);
  };
  return provider;
}
