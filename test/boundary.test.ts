/**
 * The trust boundary, checked over the import graph. The enclave runs, and is measured
 * as, exactly the files its entry point reaches (src/contracts/measurement.ts); the host is
 * untrusted. Two rules keep the two apart, and this file is where their sets are named:
 *
 * 1. Code the enclave reaches never imports host-only code: else the API, the store or
 *    the CLI would run inside the enclave, be measured, and a change to them would give
 *    every worker a new identity (and their bugs the enclave's keys).
 * 2. Host code imports nothing from src/enclave but the formats both sides share (and the
 *    host's own enclave client): the enclave's internals (sealed state, keys, job
 *    execution) must not run on the host, where they would be one edit away from handling
 *    data outside the enclave.
 *
 * Imports are every specifier a file names, type-only ones included
 * (src/contracts/import-graph.ts). Both rules are checked on this tree, and shown to refuse a
 * crossing on a copy of it.
 */
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { moduleReferences, reachableFiles } from '../src/contracts/import-graph.ts';
import { ENCLAVE_ENTRY, PROJECT_ROOT } from '../src/contracts/measurement.ts';

/** Code that runs only on the host or a client's machine (a folder ends in `/`). */
const HOST_ONLY = [
  'bin/',
  'src/host/api/',
  'src/host/store/',
  'src/cli/',
  'src/client/',
  'src/provenance/',
  'src/host/enclave-client.ts',
  'src/host/federation-coordinator.ts',
  // Barrels that load the coordinator, the embedded chain or owner-side sealing: the enclave imports the files it needs.
  'src/federation/index.ts',
  'src/chain/index.ts',
  'src/crypto/index.ts',
  // Owners seal files on their machines; the host checks an upload's header.
  'src/crypto/age/seal-file.ts',
  'src/crypto/age/seal-hasher.ts',
  'src/crypto/age/inspect.ts',
  'src/host/chain/embedded.ts',
  'src/host/chain/embedded-db.ts',
  'src/host/chain/rpc-server.ts',
  'src/host/chain/log-level.ts',
  'src/host/chain/operator.ts',
] as const;

/** The enclave's folder. */
const ENCLAVE_DIR = 'src/enclave/';

/** Files in the enclave's folder that the host may import: formats both sides share, and the measurement's definition. */
const SHARED_ENCLAVE_FILES = [
  'src/contracts/enclave-protocol.ts',
  'src/contracts/result.ts',
  // The sealed-outputs format: the enclave seals, a reader's CLI or dashboard proxy opens.
  'src/contracts/result-outputs.ts',
  'src/contracts/ledger.ts',
  'src/contracts/upgrade-authorization.ts',
  'src/contracts/measurement.ts',
  'src/contracts/import-graph.ts',
] as const;

const inSet = (set: readonly string[], file: string) =>
  set.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p));
const isEnclaveInternal = (f: string) =>
  f.startsWith(ENCLAVE_DIR) && !inSet(HOST_ONLY, f) && !inSet(SHARED_ENCLAVE_FILES, f);

function sourcesUnder(root: string, dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir)).flatMap((name) => {
    const p = join(dir, name);
    return statSync(join(root, p)).isDirectory()
      ? sourcesUnder(root, p)
      : /\.[cm]?[jt]s$/.test(name)
        ? [p]
        : [];
  });
}

/** Every import between the project's own files under `root` (src and bin): importer → imported. */
function importEdges(root: string): [string, string][] {
  return [...sourcesUnder(root, 'src'), ...sourcesUnder(root, 'bin')].flatMap((file) =>
    moduleReferences(readFileSync(join(root, file), 'utf8'))
      .specifiers.filter((s) => s.startsWith('./') || s.startsWith('../'))
      .map((s): [string, string] => [
        file,
        relative(root, join(root, dirname(file), s))
          .split('\\')
          .join('/'),
      ]),
  );
}

/** The imports that break rule 1 or rule 2 in the tree at `root`, as `importer -> imported`. */
function crossings(root: string): string[] {
  const enclave = new Set(reachableFiles(root, ENCLAVE_ENTRY));
  const edges = importEdges(root);
  // Rule 1: the first host-only file the enclave reaches is imported by an enclave file that is not.
  const intoHost = edges.filter(
    ([from, to]) => enclave.has(from) && !inSet(HOST_ONLY, from) && inSet(HOST_ONLY, to),
  );
  // Rule 2: host code is what the enclave does not reach, outside its folder, and the host-only files in it.
  const isHost = (f: string) => inSet(HOST_ONLY, f) || (!enclave.has(f) && !f.startsWith(ENCLAVE_DIR));
  const intoEnclave = edges.filter(([from, to]) => isHost(from) && isEnclaveInternal(to));
  return [...intoHost, ...intoEnclave].map(([from, to]) => `${from} -> ${to}`);
}

const copies: string[] = [];
afterAll(() => {
  for (const c of copies) rmSync(c, { recursive: true, force: true });
});

function copyTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'obscura-boundary-'));
  copies.push(dir);
  for (const d of ['src', 'bin']) cpSync(join(PROJECT_ROOT, d), join(dir, d), { recursive: true });
  return dir;
}

describe('trust boundary', () => {
  it('names files that exist', () => {
    for (const p of [...HOST_ONLY, ...SHARED_ENCLAVE_FILES, ENCLAVE_ENTRY])
      expect(existsSync(join(PROJECT_ROOT, p)), p).toBe(true);
  });

  it('holds in this tree: the enclave reaches no host-only file, and the host imports only shared enclave files', () => {
    expect(crossings(PROJECT_ROOT)).toEqual([]);
    const enclave = reachableFiles(PROJECT_ROOT, ENCLAVE_ENTRY);
    expect(enclave.filter((f) => inSet(HOST_ONLY, f))).toEqual([]);
  });

  it('refuses enclave code that imports host-only code, a type-only import included', () => {
    const dir = copyTree();
    appendFileSync(
      join(dir, 'src/enclave/jobs.ts'),
      "\nimport type { ApiClient } from '../cli/client.ts';\n",
    );
    appendFileSync(join(dir, 'src/pipelines/run.ts'), "\nimport '../host/chain/embedded.ts';\n");
    expect(crossings(dir)).toEqual([
      'src/enclave/jobs.ts -> src/cli/client.ts',
      'src/pipelines/run.ts -> src/host/chain/embedded.ts',
    ]);
  });

  it('refuses host code that imports an enclave internal, and accepts a shared format', () => {
    const dir = copyTree();
    appendFileSync(
      join(dir, 'src/host/api/app.ts'),
      "\nimport '../../enclave/state.ts';\nimport '../../contracts/result.ts';\n",
    );
    appendFileSync(
      join(dir, 'src/host/federation-coordinator.ts'),
      "\nimport type { JobContext } from '../enclave/jobs.ts';\n",
    );
    expect(crossings(dir).sort()).toEqual([
      'src/host/api/app.ts -> src/enclave/state.ts',
      'src/host/federation-coordinator.ts -> src/enclave/jobs.ts',
    ]);
  });
});
