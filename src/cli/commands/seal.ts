/**
 * `obscura seal`: on the owner's machine, verify the worker's attestation with a fresh
 * nonce, read the dataset's schema and row count while sealing it with age to the worker's
 * recipient (one pass, a progress bar on a terminal), and write the owner-signed manifest
 * beside it (`<out>.manifest.json`).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { ObscuraError } from '../../common/errors.ts';
import { isValidAddress, loadAccountKey } from '../../crypto/index.ts';
import { COLUMN_TYPES, type ColumnType, ColumnTypeSchema } from '../../data/schema.ts';
import { loadDatasetPolicy } from '../../privacy/policy.ts';
import { attestationSetup, attestWorker, listWorkers } from '../attest.ts';
import { ApiClient } from '../client.ts';
import { emit, type GlobalOptions } from '../output.ts';
import { progressBar } from '../progress.ts';

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
  fullCheck?: boolean;
  type?: string[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--type column=type` options as a map, checked where they are typed. */
function columnTypes(specs: string[] | undefined): Record<string, ColumnType> | undefined {
  if (!specs) return undefined;
  const types: Record<string, ColumnType> = {};
  for (const spec of specs) {
    const at = spec.lastIndexOf('=');
    const type = ColumnTypeSchema.safeParse(spec.slice(at + 1));
    if (at <= 0 || !type.success) {
      throw new ObscuraError(
        'column_type_invalid',
        `--type ${spec} is not <column>=<type> with a type among ${COLUMN_TYPES.join(', ')}`,
        400,
      );
    }
    types[spec.slice(0, at)] = type.data;
  }
  return types;
}

/** Whether a policy file is a dataset policy (has `obscura-policy`) rather than an attestation policy. */
async function isDatasetPolicyFile(path: string): Promise<boolean> {
  const text = await readFile(path, 'utf8').catch((e: unknown) => {
    throw new ObscuraError('file_unreadable', `cannot read ${path}`, 400, undefined, { cause: e });
  });
  try {
    const value: unknown = parseYaml(text, { uniqueKeys: false });
    return typeof value === 'object' && value !== null && 'obscura-policy' in value;
  } catch {
    return false; // not YAML: the attestation policy loader says what is wrong with it
  }
}

/** Register `seal`. */
export function sealCommand(program: Command): void {
  program
    .command('seal')
    .argument('<file>', 'the dataset to seal')
    .requiredOption('--worker <id>', 'worker to seal to (its attestation is verified first)')
    .requiredOption('--key <file>', "the owner's account key file")
    .option(
      '--allow <address>',
      'analyst allowed to use the dataset (repeatable; "*" for anyone; default: the dataset policy\'s analysts)',
      collect,
    )
    .requiredOption(
      '--out <file>',
      'where to write the sealed file (the manifest goes to <out>.manifest.json)',
    )
    .option('--name <name>', 'dataset name (default: the file name)')
    .option(
      '--measurement <hex>',
      'accepted enclave measurement (repeatable; default: the attested one)',
      collect,
    )
    .option('--allow-simulated', 'accept a simulated TEE (never for real data)')
    .option(
      '--policy <file>',
      'a dataset policy (YAML, `obscura-policy: 1`) to sign into the manifest, or an attestation policy the worker must satisfy',
    )
    .option(
      '--policy-file <file>',
      'dataset policy (YAML) to sign into the manifest (same as --policy with a dataset policy)',
    )
    .option('--pccs <url>', "PCCS for DCAP collateral (default Intel's PCS)")
    .option(
      '--full-check',
      "CSV: type the columns from every row and check each row now (slower), not from the file's first 8 MiB with the rest checked by the enclave at upload",
    )
    .option(
      '--type <column=type>',
      `CSV: the column's type in the manifest, over the one found (repeatable; ${COLUMN_TYPES.join(', ')})`,
      collect,
    )
    .action(async (file: string, opts: SealOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const types = columnTypes(opts.type);
      // An address is checked where it is typed: signed into the manifest, a typo would only
      // fail at upload, after the file was sealed for nothing.
      for (const a of opts.allow ?? []) {
        if (a !== '*' && !isValidAddress(a)) {
          throw new ObscuraError(
            'analyst_address_invalid',
            `--allow ${a} is not an ss58 account address (or "*" for anyone): check it and run seal again`,
            400,
          );
        }
      }
      // The dataset policy is read first, so a bad file fails before anything is attested.
      // Analysts: --allow wins for the manifest; without it, the policy's analysts are the
      // manifest's. The policy's own list is enforced as well, so both must allow an analyst.
      // `--policy` takes either kind of policy document: a dataset policy (`obscura-policy: 1`,
      // whose `attestation` the worker must then satisfy) or an attestation policy.
      const policyIsDataset = opts.policy !== undefined && (await isDatasetPolicyFile(opts.policy));
      if (policyIsDataset && opts.policyFile)
        throw new ObscuraError(
          'policy_conflict',
          'give the dataset policy once: with --policy or with --policy-file',
          400,
        );
      const datasetPolicyPath = policyIsDataset ? opts.policy : opts.policyFile;
      const attestationPolicyPath = policyIsDataset ? undefined : opts.policy;
      const datasetPolicy = datasetPolicyPath ? await loadDatasetPolicy(datasetPolicyPath) : undefined;
      const analysts = opts.allow ?? datasetPolicy?.analysts;
      if (!analysts || analysts.length === 0) {
        throw new ObscuraError(
          'analysts_missing',
          'name the allowed analysts with --allow, or with `analysts` in the --policy-file',
          400,
        );
      }
      const setup = await attestationSetup({
        ...(attestationPolicyPath ? { policy: attestationPolicyPath } : {}),
        ...(datasetPolicy?.attestation ? { policyValue: datasetPolicy.attestation } : {}),
        ...(opts.pccs ? { pccs: opts.pccs } : {}),
      });
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
        throw new ObscuraError(
          'attestation_failed',
          `refusing to seal: worker ${worker.id} failed attestation (${failed.join('; ')})`,
          403,
        );
      }
      if (worker.sealingRoot === 'simulated-file') {
        // The owner is about to give this worker the data: say plainly who else could read it.
        process.stderr.write(
          `WARN: worker ${worker.id}'s sealing root is a file in the host's data directory (simulated TEE): whoever can read that directory can decrypt this dataset\n`,
        );
      }
      // Loaded on demand: reading datasets pulls in DuckDB and Arrow.
      const { sealDataset } = await import('../seal-dataset.ts');
      const bar = progressBar('sealing');
      const { signed, stats, manifestPath, check } = await sealDataset({
        file,
        out: opts.out,
        owner,
        worker,
        analysts,
        ...(datasetPolicy ? { policy: datasetPolicy } : {}),
        measurements: opts.measurement ?? [worker.measurement],
        ...(opts.name ? { name: opts.name } : {}),
        onProgress: bar.update,
        ...(opts.fullCheck ? { fullCheck: true } : {}),
        ...(types ? { types } : {}),
      }).finally(bar.done);
      const { rows, format } = signed.manifest;
      const sim = verdict.simulated ? ' (simulated TEE)' : '';
      emit(
        g,
        {
          sealed: opts.out,
          manifest: manifestPath,
          worker: worker.id,
          simulated: verdict.simulated,
          sealingRoot: worker.sealingRoot,
          rows,
          schemaCheck: check,
          ...stats,
        },
        `sealed ${rows} rows (${format}) to worker ${worker.id}${sim}: ${opts.out}, manifest ${manifestPath}`,
      );
      if (check === 'sample') {
        process.stderr.write(
          "note: column types from the file's first 8 MiB; the enclave checks every value against them at upload (`obscura seal --full-check` checks them now)\n",
        );
      }
    });
}
