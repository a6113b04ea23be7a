/**
 * The enclave measurement: a reproducible SHA-256 over exactly the code the enclave process
 * runs.
 *
 * Measured files (paths relative to the project root, sorted bytewise):
 *   - every file reachable from the enclave's entry point (ENCLAVE_ENTRY) by its imports,
 *     static and dynamic, type-only ones included (import-graph.ts): the enclave's own
 *     code and the shared formats it reads, and nothing the host, the CLI or the docs hold
 *     (a worker thread's entry file, started by URL, is imported for its types by the file
 *     that starts it, so it is in the closure: test/contracts/import-graph.test.ts);
 *   - package-lock.json, which pins every package the enclave loads (node_modules is not
 *     hashed file by file).
 * measurement = SHA-256 over the lines `<sha256 hex of file>  <path>\n`, the same shape as
 * `sha256sum` prints, so anyone can recompute it with coreutils from the list
 * `obscura measure --files` prints: README.md ("Measurement") gives the command.
 * The host, the CLI (`obscura measure`) and the enclave itself all call this one function.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reachableFiles } from './import-graph.ts';

/** The enclave process's entry point, relative to the project root. */
export const ENCLAVE_ENTRY = 'src/enclave/main.ts';

/** Single files measured beside the enclave's import closure. */
export const MEASURED_FILES = ['package-lock.json'] as const;

/** The project root this module lives in. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The measured files with their SHA-256, sorted by path (POSIX separators). */
export function measuredFiles(root = PROJECT_ROOT): { path: string; sha256: string }[] {
  const paths = [
    ...reachableFiles(root, ENCLAVE_ENTRY),
    ...MEASURED_FILES.filter((f) => existsSync(join(root, f))),
  ];
  return paths
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((path) => ({
      path,
      sha256: createHash('sha256')
        .update(readFileSync(join(root, path)))
        .digest('hex'),
    }));
}

/** The enclave measurement (64 hex chars) of the code under `root`. */
export function computeMeasurement(root = PROJECT_ROOT): string {
  const h = createHash('sha256');
  for (const f of measuredFiles(root)) h.update(`${f.sha256}  ${f.path}\n`);
  return h.digest('hex');
}
