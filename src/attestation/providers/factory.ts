/** Building the evidence provider a configuration names. */
import type { ProviderConfig } from './config.ts';
import { dstackProvider } from './dstack.ts';
import type { EvidenceProvider } from './provider.ts';
import { sgxGramineProvider } from './sgx-gramine.ts';
import { simulatedProvider } from './simulated.ts';
import { tdxConfigfsProvider } from './tdx-configfs.ts';

/** The provider for `config`. Touches no device: failures surface on first use (identify or evidence). */
export function createProvider(config: ProviderConfig): EvidenceProvider {
  switch (config.kind) {
    case 'simulated':
      return simulatedProvider({ dataDir: config.dataDir });
    case 'tdx-configfs':
      return tdxConfigfsProvider({
        ...(config.root === undefined ? {} : { root: config.root }),
        ...(config.keyProvider === undefined ? {} : { keyProvider: config.keyProvider }),
      });
    case 'dstack':
      return dstackProvider({
        ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
        ...(config.api === undefined ? {} : { api: config.api }),
      });
    case 'sgx-gramine':
      return sgxGramineProvider(config.root === undefined ? {} : { root: config.root });
  }
}
