/**
 * Every top-level `obscura` command: its name, what `obscura --help` says of it, and how to
 * load the module that defines it. A command's module is imported only when that command
 * runs, so `obscura result` never loads the server, the chain or DuckDB, and `--help`
 * loads no command at all.
 */
import type { Command } from 'commander';

/** Registers one or more commands (with their options and actions) on the program. */
export type Register = (program: Command) => void;

/** One top-level command. */
export interface CommandEntry {
  name: string;
  aliases?: readonly string[];
  summary: string;
  load: () => Promise<Register>;
  /**
   * The command reads files beside its own modules (`serve` forks the chain process and the
   * enclave from theirs, `dashboard` serves the page's files), so it runs from the
   * file-for-file build (dist/cli/), never from the CLI bundle (scripts/cli-bundle.ts).
   */
  fromFiles?: true;
}

const lists = () => import('./lists.ts').then((m) => m.listCommands);
const privacy = () => import('./privacy.ts').then((m) => m.privacyCommands);

/** The commands in the order `obscura --help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'keys',
    summary: 'manage account keys',
    load: () => import('./keys.ts').then((m) => m.keysCommand),
  },
  {
    name: 'workers',
    summary: 'list enclave workers and check their attestation',
    load: () => import('./workers.ts').then((m) => m.workersCommand),
  },
  {
    name: 'nodes',
    summary: "list the federation's nodes on the chain and check each one's attestation now",
    load: () => import('./nodes.ts').then((m) => m.nodesCommand),
  },
  {
    name: 'attest',
    summary: "verify an enclave's attestation check by check (worker id, raw quote file, or evidence JSON)",
    load: () => import('./attest.ts').then((m) => m.attestCommand),
  },
  {
    name: 'measure',
    summary: 'print the enclave measurement of this source tree (see README: which files)',
    load: () => import('./measure.ts').then((m) => m.measureCommand),
  },
  {
    name: 'seal',
    summary: 'seal a CSV, Parquet or Arrow IPC file to an attested worker, with a signed manifest',
    load: () => import('./seal.ts').then((m) => m.sealCommand),
  },
  {
    name: 'inspect',
    summary:
      "show a sealed file's age header and its manifest (checking the owner's signature and the ciphertext hash)",
    load: () => import('./inspect.ts').then((m) => m.inspectCommand),
  },
  {
    name: 'pipeline',
    summary: 'work with pipeline documents offline',
    load: () => import('./pipeline.ts').then((m) => m.pipelineCommand),
  },
  {
    name: 'upload',
    summary: 'upload a sealed dataset with its manifest; prints the dataset id',
    load: () => import('./upload.ts').then((m) => m.uploadCommand),
  },
  {
    name: 'run',
    summary: 'run a pipeline over datasets (prints the job id, or with --wait the result id)',
    load: () => import('./run.ts').then((m) => m.runCommand),
  },
  {
    name: 'job',
    summary: 'look at or cancel a job',
    load: () => import('./job.ts').then((m) => m.jobCommand),
  },
  {
    name: 'jobs',
    summary: 'list the jobs you may read (yours, and those over your datasets), newest first',
    load: lists,
  },
  {
    name: 'datasets',
    summary: 'list the datasets you may read (yours, and those you are allowed to analyse): metadata only',
    load: lists,
  },
  { name: 'pipelines', summary: 'list the pipelines you may read, with their hashes', load: lists },
  {
    name: 'approvals',
    summary: 'jobs waiting for your approval (and, with --all, the jobs you ran that wait for owners)',
    load: privacy,
  },
  {
    name: 'approve',
    summary:
      "approve a waiting job's pipeline on your datasets, after reading what it reads, outputs and spends",
    load: privacy,
  },
  {
    name: 'refuse',
    summary: 'refuse a job waiting for your approval, with a reason its analyst reads',
    load: privacy,
  },
  { name: 'policy', summary: "a dataset's policy after upload", load: privacy },
  {
    name: 'budget',
    summary: "a dataset's remaining privacy budget (its owner and allowed analysts)",
    load: privacy,
  },
  {
    name: 'result',
    aliases: ['results'],
    summary:
      'print a result: its output tables as CSV (decrypted with your key), or the whole signed document as JSON (outputs sealed)',
    load: () => import('./result.ts').then((m) => m.resultCommand),
  },
  {
    name: 'verify',
    summary: "verify a result's signature, attestation and chain anchor",
    load: () => import('./verify.ts').then((m) => m.verifyCommand),
  },
  {
    name: 'upgrade',
    summary: 'enclave code upgrades',
    load: () => import('./upgrade.ts').then((m) => m.upgradeCommand),
  },
  {
    name: 'serve',
    summary: 'serve the API, the embedded chain and an enclave worker',
    load: () => import('./serve.ts').then((m) => m.serveCommand),
    fromFiles: true,
  },
  {
    name: 'dashboard',
    summary:
      'serve the dashboard on 127.0.0.1, signing its reads with your key (the key never leaves this machine)',
    load: () => import('./dashboard.ts').then((m) => m.dashboardCommand),
    fromFiles: true,
  },
];

/** The entry a command name or alias names, if any. */
export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}

/**
 * The command a command line asks for: the first word that is not a global option (or the
 * word after `help`). Global options that take a value (`--api URL`) are skipped with it.
 */
export function commandWord(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--api') i++;
    else if (a === 'help') return args[i + 1] ?? undefined;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}
