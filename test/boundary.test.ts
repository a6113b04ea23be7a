/**
 * The trust boundary is the tree, checked over the import graph. Each project file lives in
 * one zone, named by its folder:
 *
 *   src/enclave/    runs inside the enclave, and only that
 *   src/host/       runs only on the untrusted host (API, store, embedded chain, enclave client)
 *   src/contracts/  formats both sides and outside verifiers share (protocol, results, ledger
 *                   entries, API records, the measurement's definition)
 *   src/client/, src/cli/, src/provenance/, bin/   clients: the owner's, analyst's or
 *                   auditor's machine (the API client, the command, the result verifier)
 *   src/<other>/    libraries both sides use (common, crypto, data, pipelines, ...)
 *
 * and may import only the zones ALLOWED names (the host may use the API client, as one node
 * of a federation is a client of another). So enclave code never imports the host (else
 * the API or store would run inside the enclave, be measured, and a change to them would give
 * every worker a new identity), and host and client code never import the enclave's internals
 * (its sealed state, keys and job execution must not run where data would be handled outside
 * the enclave). Contracts build on library formats (manifests, policies, chain records,
 * evidence), so they may import libraries; libraries import only libraries.
 *
 * The enclave runs, and is measured as, exactly the files its entry point reaches
 * (src/contracts/measurement.ts); the last tests check that this closure and the enclave's
 * folder agree. Imports are every specifier a file names, type-only ones included
 * (src/contracts/import-graph.ts).
 */
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { moduleReferences, reachableFiles } from '../src/contracts/import-graph.ts';
import { ENCLAVE_ENTRY, PROJECT_ROOT } from '../src/contracts/measurement.ts';

type Zone = 'enclave' | 'host' | 'contracts' | 'client' | 'cli' | 'provenance' | 'bin' | 'library';

/** The zone of a project file (a path relative to the project root), by its folder. */
function zoneOf(file: string): Zone {
  if (file.startsWith('bin/')) return 'bin';
  const top = file.split('/')[1];
  if (
    top === 'enclave' ||
    top === 'host' ||
    top === 'contracts' ||
    top === 'client' ||
    top === 'cli' ||
    top === 'provenance'
  )
    return top;
  return 'library';
}

/** What each zone may import. */
const ALLOWED: Record<Zone, readonly Zone[]> = {
  enclave: ['enclave', 'contracts', 'library'],
  // A node calls another node's API with the same signed client users run (src/client).
  host: ['host', 'client', 'contracts', 'library'],
  contracts: ['contracts', 'library'],
  library: ['library'],
  client: ['client', 'provenance', 'contracts', 'library'],
  cli: ['cli', 'client', 'provenance', 'contracts', 'library'],
  provenance: ['provenance', 'contracts', 'library'],
  bin: ['cli'],
};

/**
 * Single crossings the rule allows: `obscura serve` starts the host through its entry point;
 * `obscura dashboard` serves the same dashboard files the host serves (a page and its
 * browser bundle, no host state).
 */
const ALLOWED_EDGES: readonly (readonly [string, string])[] = [
  ['src/cli/commands/serve.ts', 'src/host/api/host.ts'],
  ['src/cli/dashboard-proxy.ts', 'src/host/api/dashboard/assets.ts'],
];

type Edge = readonly [from: string, to: string];

/** The imports among `edges` that cross the boundary, as `importer -> imported`. */
function violations(edges: readonly Edge[]): string[] {
  return edges
    .filter(([from, to]) => !ALLOWED[zoneOf(from)].includes(zoneOf(to)))
    .filter(([from, to]) => !ALLOWED_EDGES.some(([f, t]) => f === from && t === to))
    .map(([from, to]) => `${from} -> ${to}`);
}

function sourcesUnder(root: string, dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.[cm]?[jt]s$/.test(f))
    .map((f) => join(dir, f).split('\\').join('/'));
}

/** Every import between the project's own files under `root` (src and bin): importer → imported. */
function importEdges(root: string): Edge[] {
  return [...sourcesUnder(root, 'src'), ...sourcesUnder(root, 'bin')].flatMap((file) =>
    moduleReferences(readFileSync(join(root, file), 'utf8'))
      .specifiers.filter((s) => s.startsWith('./') || s.startsWith('../'))
      .map(
        (s): Edge => [
          file,
          relative(root, join(root, dirname(file), s))
            .split('\\')
            .join('/'),
        ],
      ),
  );
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
  it('holds in this tree: no import crosses a zone it may not', () => {
    const edges = importEdges(PROJECT_ROOT);
    expect(edges.length).toBeGreaterThan(500);
    expect(violations(edges)).toEqual([]);
    for (const [from, to] of ALLOWED_EDGES) expect(edges, `${from} -> ${to}`).toContainEqual([from, to]);
  });

  it('refuses each crossing on a synthetic graph, and accepts what the zones allow', () => {
    const bad: Edge[] = [
      ['src/enclave/jobs.ts', 'src/host/api/app.ts'],
      ['src/enclave/jobs.ts', 'src/cli/client.ts'],
      ['src/enclave/jobs.ts', 'src/provenance/verify.ts'],
      ['src/host/api/runner.ts', 'src/enclave/jobs.ts'],
      ['src/host/api/app.ts', 'src/cli/output.ts'],
      ['src/cli/commands/result.ts', 'src/enclave/state.ts'],
      ['src/cli/client.ts', 'src/host/api/auth.ts'],
      ['src/client/client.ts', 'src/host/api/problem.ts'],
      ['src/client/client.ts', 'src/enclave/state.ts'],
      ['src/cli/commands/serve.ts', 'src/host/api/app.ts'],
      ['src/provenance/verify.ts', 'src/enclave/ledger-service.ts'],
      ['src/provenance/verify.ts', 'src/host/store/index.ts'],
      ['src/contracts/result.ts', 'src/enclave/state.ts'],
      ['src/contracts/result.ts', 'src/host/store/index.ts'],
      ['src/chain/index.ts', 'src/host/chain/embedded.ts'],
      ['src/pipelines/run.ts', 'src/contracts/result.ts'],
      ['bin/obscura.js', 'src/host/api/host.ts'],
    ];
    const good: Edge[] = [
      ['src/enclave/main.ts', 'src/contracts/enclave-protocol.ts'],
      ['src/enclave/jobs.ts', 'src/pipelines/run.ts'],
      ['src/host/api/runner.ts', 'src/contracts/result.ts'],
      ['src/host/enclave-client.ts', 'src/attestation/verify.ts'],
      ['src/cli/commands/verify.ts', 'src/provenance/verify.ts'],
      ['src/cli/client.ts', 'src/client/client.ts'],
      ['src/client/client.ts', 'src/contracts/request-signing.ts'],
      ['src/cli/commands/serve.ts', 'src/host/api/host.ts'],
      ['src/provenance/verify.ts', 'src/contracts/ledger.ts'],
      ['src/contracts/enclave-protocol.ts', 'src/crypto/manifest.ts'],
      ['bin/obscura.js', 'src/cli/main.ts'],
    ];
    expect(violations([...bad, ...good])).toEqual(bad.map(([f, t]) => `${f} -> ${t}`));
  });

  it('refuses a crossing added to a copy of this tree, a type-only import included', () => {
    const dir = copyTree();
    appendFileSync(
      join(dir, 'src/enclave/jobs.ts'),
      "\nimport type { ApiClient } from '../cli/client.ts';\n",
    );
    appendFileSync(join(dir, 'src/host/api/app.ts'), "\nimport '../../enclave/state.ts';\n");
    appendFileSync(join(dir, 'src/pipelines/run.ts'), "\nimport '../host/chain/embedded.ts';\n");
    expect(violations(importEdges(dir)).sort()).toEqual([
      'src/enclave/jobs.ts -> src/cli/client.ts',
      'src/host/api/app.ts -> src/enclave/state.ts',
      'src/pipelines/run.ts -> src/host/chain/embedded.ts',
    ]);
  });

  it('agrees with the measurement: the enclave reaches only enclave, contract and library files, and all of its folder', () => {
    const measured = reachableFiles(PROJECT_ROOT, ENCLAVE_ENTRY);
    expect(measured.filter((f) => !ALLOWED.enclave.includes(zoneOf(f)))).toEqual([]);
    const folder = sourcesUnder(PROJECT_ROOT, 'src/enclave');
    expect(folder.filter((f) => !measured.includes(f))).toEqual([]);
  });
});
