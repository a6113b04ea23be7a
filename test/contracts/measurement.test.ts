import {
  appendFileSync,
  cpSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { moduleReferences } from '../../src/contracts/import-graph.ts';
import {
  computeMeasurement,
  ENCLAVE_ENTRY,
  measuredFiles,
  PROJECT_ROOT,
} from '../../src/contracts/measurement.ts';

const copies: string[] = [];
afterAll(() => {
  for (const c of copies) rmSync(c, { recursive: true, force: true });
});

/** A copy of the tree a measurement depends on, and of the files it must not depend on. */
function copyTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'obscura-measure-'));
  copies.push(dir);
  cpSync(join(PROJECT_ROOT, 'src'), join(dir, 'src'), { recursive: true });
  for (const f of ['package-lock.json', 'README.md']) cpSync(join(PROJECT_ROOT, f), join(dir, f));
  cpSync(join(PROJECT_ROOT, 'docs'), join(dir, 'docs'), { recursive: true });
  return dir;
}

/**
 * The files TypeScript itself loads to compile the enclave entry point: an independent
 * reading of the enclave's import closure (its own parser and module resolution).
 */
function typescriptClosure(): string[] {
  const root = realpathSync(PROJECT_ROOT);
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    noEmit: true,
    noLib: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  // Packages are the lockfile's business; reading their typings would only take seconds.
  host.resolveModuleNames = (names, containing) =>
    names.map((n) =>
      n.startsWith('.') ? ts.resolveModuleName(n, containing, options, host).resolvedModule : undefined,
    );
  const program = ts.createProgram({ rootNames: [join(root, ENCLAVE_ENTRY)], options, host });
  return program
    .getSourceFiles()
    .map((f) => relative(root, f.fileName))
    .filter((f) => f.startsWith('src/'))
    .sort();
}

const paths = (root?: string) => measuredFiles(root).map((f) => f.path);

describe('enclave measurement', () => {
  it('is reproducible and independent of where the tree lives', () => {
    expect(computeMeasurement()).toMatch(/^[0-9a-f]{64}$/);
    expect(computeMeasurement(copyTree())).toBe(computeMeasurement());
  });

  it('measures exactly the files the enclave entry point reaches, and the lockfile', () => {
    const measured = paths();
    expect(measured).toContain(ENCLAVE_ENTRY);
    expect(measured.filter((p) => p !== 'package-lock.json').sort()).toEqual(typescriptClosure());
    expect(measured).toContain('package-lock.json');
  });

  it('follows every import the enclave makes: no module named by a computed value, but the optional native TensorFlow package', () => {
    const computed = paths().filter(
      (p) =>
        p.endsWith('.ts') &&
        moduleReferences(readFileSync(join(PROJECT_ROOT, p), 'utf8')).computedImports > 0,
    );
    // backend.ts tries `@tensorflow/tfjs-node` (a package, pinned by the lockfile) by a variable name.
    expect(computed).toEqual(['src/ml/backend.ts']);
  });

  it('does not change when the README, the docs, an API file, a CLI file or unreached enclave-folder code changes', () => {
    const dir = copyTree();
    const before = computeMeasurement(dir);
    expect(paths(dir).filter((p) => !p.startsWith('src/') && p !== 'package-lock.json')).toEqual([]);
    writeFileSync(join(dir, 'README.md'), 'a typo fixed\n');
    appendFileSync(join(dir, 'docs/design.md'), '\nA clarified sentence.\n');
    appendFileSync(join(dir, 'src/host/api/app.ts'), '\n// an API change\n');
    appendFileSync(join(dir, 'src/cli/main.ts'), '\n// a CLI change\n');
    appendFileSync(join(dir, 'src/host/enclave-client.ts'), '\n// the host side of the enclave channel\n');
    writeFileSync(join(dir, 'src/enclave/unused.ts'), 'export const unused = 1;\n');
    expect(computeMeasurement(dir)).toBe(before);
  });

  it('changes when the enclave, a shared format it reads or the lockfile changes, or it imports a new file', () => {
    const edits: [string, (dir: string) => void][] = [
      ['the entry point', (d) => appendFileSync(join(d, ENCLAVE_ENTRY), '\n// new enclave code\n')],
      [
        'a shared format',
        (d) => appendFileSync(join(d, 'src/contracts/result.ts'), '\n// a format change\n'),
      ],
      [
        'a dependency two imports away',
        (d) => appendFileSync(join(d, 'src/common/errors.ts'), '\n// changed\n'),
      ],
      ['the lockfile', (d) => appendFileSync(join(d, 'package-lock.json'), '\n')],
      [
        'a new import',
        (d) => {
          writeFileSync(join(d, 'src/enclave/extra.ts'), 'export const extra = 1;\n');
          appendFileSync(join(d, ENCLAVE_ENTRY), "\nimport './extra.ts';\n");
        },
      ],
    ];
    const base = computeMeasurement(copyTree());
    for (const [what, edit] of edits) {
      const dir = copyTree();
      edit(dir);
      expect(computeMeasurement(dir), what).not.toBe(base);
    }
    expect(paths(copies[copies.length - 1])).toContain('src/enclave/extra.ts');
  });
});
