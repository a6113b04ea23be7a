/**
 * The enclave measurement: a reproducible SHA-256 over the code the enclave process runs.
 *
 * Measured files (paths relative to the project root, sorted bytewise):
 *   - every file under src/common, src/enclave, src/attestation, src/crypto, src/data,
 *     src/pipelines, src/privacy, src/ml, src/federation and src/chain (the enclave's
 *     import closure lives there; it checks hand-over authorisations and its budget ledger
 *     with the chain client, and federated training's merges are enclave code);
 *   - package-lock.json (pins every dependency the enclave loads).
 * measurement = SHA-256 over the lines `<sha256 hex of file>  <path>\n`, the same shape as
 * `sha256sum` prints, so anyone can recompute it with coreutils:
 *   README.md ("Measurement") gives the one-line shell command.
 * The host, the CLI (`obscura measure`) and the enclave itself all call this one function.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Folders whose files make up the enclave's code. */
export const MEASURED_DIRS = [
  'src/common',
  'src/enclave',
  'src/attestation',
  'src/crypto',
  'src/data',
  'src/pipelines',
  'src/privacy',
  'src/ml',
  'src/federation',
  'src/chain',
] as const;

/** Single files measured beside the folders. */
export const MEASURED_FILES = ['package-lock.json'] as const;

/** The project root this module lives in. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function listFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

/** The measured files with their SHA-256, sorted by path (POSIX separators). */
export function measuredFiles(root = PROJECT_ROOT): { path: string; sha256: string }[] {
  const paths = [
    ...MEASURED_DIRS.flatMap((d) => listFiles(join(root, d))),
    ...MEASURED_FILES.map((f) => join(root, f)).filter((p) => existsSync(p)),
  ];
  return paths
    .map((p) => relative(root, p).split(sep).join('/'))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((path) => ({
      path,
      sha256: createHash('sha256').update(readFileSync(join(root, path))).digest('hex'),
    }));
}

/** The enclave measurement (64 hex chars) of the code under `root`. */
export function computeMeasurement(root = PROJECT_ROOT): string {
  const h = createHash('sha256');
  for (const f of measuredFiles(root)) h.update(`${f.sha256}  ${f.path}\n`);
  return h.digest('hex');
}
