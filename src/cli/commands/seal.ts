/**
 * `obscura seal`: on the owner's machine, verify the worker's attestation with a fresh
 * nonce, read the dataset's schema and row count, seal it with age to the worker's
 * recipient, and write the owner-signed manifest beside it (`<out>.manifest.json`).
 */
import type { Command } from 'commander';
import { ObscuraError } from '../../common/errors.ts';
import { loadAccountKey } from '../../crypto/index.ts';
import { loadDatasetPolicy } from '../../privacy/policy.ts';
import { attestationSetup, attestWorker, listWorkers } from '../attest.ts';
import { ApiClient } from '../client.ts';
import { emit, type GlobalOptions } from '../output.ts';

interface SealOptions {
  worker: string;
  key: string;
  allow?: string[];
  out: string;
  name?: string;
  measurement?: string[];
  allowSimulated?: boolean;
  policy?: string;
  policyFile?: string;
  pccs?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Register `seal`. */
export function sealCommand(program: Command): void {
  program
    .command('seal')
    .description('seal a CSV, Parquet or Arrow IPC file to an attested worker, with a signed manifest')
    .argument('<file>', 'the dataset to seal')
    .requiredOption('--worker <id>', 'worker to seal to (its attestation is verified first)')
    .requiredOption('--key <file>', "the owner's account key file")
    .option('--allow <address>', 'analyst allowed to use the dataset (repeatable; "*" for anyone; default: the dataset policy\'s analysts)', collect)
    .requiredOption('--out <file>', 'where to write the sealed file (the manifest goes to <out>.manifest.json)')
    .option('--name <name>', 'dataset name (default: the file name)')
    .option('--measurement <hex>', 'accepted enclave measurement (repeatable; default: the attested one)', collect)
    .option('--allow-simulated', 'accept a simulated TEE (never for real data)')
    .option('--policy <file>', 'attestation policy (YAML) the worker must satisfy before anything is sealed')
    .option('--policy-file <file>', 'dataset policy (YAML) to sign into the manifest; enforced by the host and the enclave')
    .option('--pccs <url>', "PCCS for DCAP collateral (default Intel's PCS)")
    .action(async (file: string, opts: SealOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      // The dataset policy is read first, so a bad file fails before anything is attested.
      // Analysts: --allow wins for the manifest; without it, the policy's analysts are the
      // manifest's. The policy's own list is enforced as well, so both must allow an analyst.
      const datasetPolicy = opts.policyFile ? await loadDatasetPolicy(opts.policyFile) : undefined;
      const analysts = opts.allow ?? datasetPolicy?.analysts;
      if (!analysts || analysts.length === 0) {
        throw new ObscuraError('analysts_missing', 'name the allowed analysts with --allow, or with `analysts` in the --policy-file', 400);
      }
      const setup = await attestationSetup({ ...(opts.policy ? { policy: opts.policy } : {}), ...(opts.pccs ? { pccs: opts.pccs } : {}) });
      const owner = await loadAccountKey(opts.key);
      const api = new ApiClient(g.api);
      const worker = (await listWorkers(api)).find((w) => w.id === opts.worker);
      if (!worker) throw new ObscuraError('worker_not_found', `no worker with id ${opts.worker}`, 404);
      const verdict = await attestWorker(api, worker, {
        ...setup,
        allowSimulated: opts.allowSimulated === true,
        ...(opts.measurement ? { measurements: opts.measurement } : {}),
      });
      if (!verdict.ok) {
        const failed = verdict.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
        throw new ObscuraError('attestation_failed', `refusing to seal: worker ${worker.id} failed attestation (${failed.join('; ')})`, 403);
      }
      // Loaded on demand: reading datasets pulls in DuckDB and Arrow.
      const { sealDataset } = await import('../seal-dataset.ts');
      const { signed, stats, manifestPath } = await sealDataset({
        file,
        out: opts.out,
        owner,
        worker,
        analysts,
        ...(datasetPolicy ? { policy: datasetPolicy } : {}),
        measurements: opts.measurement ?? [worker.measurement],
        ...(opts.name ? { name: opts.name } : {}),
      });
      const { rows, format } = signed.manifest;
      const sim = verdict.simulated ? ' (simulated TEE)' : '';
      emit(
        g,
        { sealed: opts.out, manifest: manifestPath, worker: worker.id, simulated: verdict.simulated, rows, ...stats },
        `sealed ${rows} rows (${format}) to worker ${worker.id}${sim}: ${opts.out}, manifest ${manifestPath}`,
      );
    });
}
