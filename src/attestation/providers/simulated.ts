/**
 * The simulated provider: evidence signed by the local simulated authority
 * (../simulated.ts). The default where no hardware TEE exists; every verifier refuses it
 * unless told to accept simulated evidence.
 */
import type { SimulatedEvidence } from '../evidence.ts';
import { simulatedEvidence, simulatedPlatformSecret } from '../simulated.ts';
import type { EvidenceProvider, EvidenceRequest } from './provider.ts';
import type { SealingRoot } from './sealing-root.ts';

/** The simulated provider, keeping its authority in `dataDir`. */
export function simulatedProvider(opts: { dataDir: string }): EvidenceProvider {
  return {
    kind: 'simulated',
    tee: 'simulated',
    async evidence(req: EvidenceRequest): Promise<SimulatedEvidence> {
      return simulatedEvidence({
        dataDir: opts.dataDir,
        workerId: req.workerId,
        measurement: req.measurement,
        keys: req.keys,
        nonce: req.nonce,
      });
    },
    async identify(): Promise<undefined> {
      return undefined;
    },
    async sealingRoot(): Promise<SealingRoot> {
      return { source: 'simulated-file', secret: simulatedPlatformSecret(opts.dataDir) };
    },
  };
}
