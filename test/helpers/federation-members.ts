/**
 * The members of a federation, as the federated adversary tests set them up: one enclave
 * each (run in-process, in-process-enclave.ts), each holding a CSV of its own sealed to it
 * by one owner for one analyst and described as a job input, as an honest host hands the
 * members their inputs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sealDataset } from '../../src/cli/seal-dataset.ts';
import type { JobSpec } from '../../src/contracts/enclave-protocol.ts';
import type { AccountKey } from '../../src/crypto/index.ts';
import { EnclaveClient } from '../../src/host/enclave-client.ts';
import { inProcessEnclave } from './in-process-enclave.ts';

/** Started members: enclave `i` holds `inputs[i]`. */
export interface FederationMembers {
  enclaves: EnclaveClient[];
  inputs: JobSpec['inputs'];
  /** Stop every member's enclave and remove their files. */
  stop(): Promise<void>;
}

/**
 * Start a member per worker id, one after another; member `i`'s CSV is the lines `csv(i)`
 * (header first), sealed by `owner` for `analyst` as the input `visits` of dataset `ds-<id>`.
 * The caller stops them with `stop`; when a start or a seal fails part-way, the members
 * started before it are stopped before the error is thrown.
 */
export async function startFederationMembers(opts: {
  ids: string[];
  owner: AccountKey;
  analyst: AccountKey;
  csv: (member: number) => string[];
}): Promise<FederationMembers> {
  const dir = mkdtempSync(join(tmpdir(), 'obscura-members-'));
  const enclaves: EnclaveClient[] = [];
  const inputs: JobSpec['inputs'] = [];
  const stop = async () => {
    await Promise.all(enclaves.map((e) => e.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const [w, id] of opts.ids.entries()) {
      const enclave = await EnclaveClient.start({
        dataDir: join(dir, id),
        workerId: id,
        spawn: inProcessEnclave,
      });
      enclaves.push(enclave);
      const file = join(dir, `${id}.csv`);
      writeFileSync(file, `${opts.csv(w).join('\n')}\n`);
      const { signed } = await sealDataset({
        file,
        out: `${file}.sealed`,
        owner: opts.owner,
        worker: { id, recipient: enclave.info.keys.recipient },
        analysts: [opts.analyst.address],
        measurements: [enclave.info.measurement],
      });
      inputs.push({ name: 'visits', datasetId: `ds-${id}`, blobPath: `${file}.sealed`, manifest: signed });
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { enclaves, inputs, stop };
}
