import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { moduleReferences, reachableFiles } from '../../src/contracts/import-graph.ts';
import { ENCLAVE_ENTRY, PROJECT_ROOT } from '../../src/contracts/measurement.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourcesUnder(p) : /\.ts$/.test(name) ? [p] : [];
  });
}

/**
 * What TypeScript's own pre-processor says a file imports: the reference the scanner must
 * match. It also lists the modules a file augments (`declare module 'x' { … }`), which load
 * nothing; those are left out.
 */
function typescriptSpecifiers(text: string): string[] {
  const augmented = new Set([...text.matchAll(/declare module ['"]([^'"]+)['"]/g)].map((m) => m[1]));
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((f) => !augmented.has(f));
}

const sorted = (xs: string[]) => [...xs].sort();

describe('import scanner', () => {
  it('reads the same imports as TypeScript in every source file of the project', () => {
    const files = [...sourcesUnder(join(PROJECT_ROOT, 'src')), ...sourcesUnder(join(PROJECT_ROOT, 'test'))];
    expect(files.length).toBeGreaterThan(300);
    const differ = files.filter((f) => {
      const text = readFileSync(f, 'utf8');
      return (
        JSON.stringify(sorted(moduleReferences(text).specifiers)) !==
        JSON.stringify(sorted(typescriptSpecifiers(text)))
      );
    });
    expect(differ.map((f) => relative(PROJECT_ROOT, f))).toEqual([]);
  });

  it('is not fooled by imports written in comments, strings, templates or regular expressions', () => {
    const src = [
      "// import './line-comment.ts';",
      "/* import x from './block-comment.ts'; */",
      'const s = "import y from \'./in-string.ts\'";',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the text is source code under test, not a template
      "const t = `import z from './in-template.ts' ${`nested ${ { a: 1 }.a } from './deep.ts'`} done`;",
      "const r = /from '.\\/in-regex.ts'[/']/g;",
      "const q = a / b / c; import './after-division.ts';",
      "Buffer.from('not-a-module'); obj.import('nor-this');",
      "const m = { from: './key.ts', import: './key2.ts' };",
      "import type { T } from './types.ts';",
      'import d, { e, type F } from "./double.ts";',
      "export * from './star.ts';",
      "export { g } from './named.ts';",
      "import './side-effect.ts';",
      "const lazy = await import('./lazy.ts');",
      "type L = typeof import('./type-query.ts');",
      'const u = import.meta.url;',
      'const v = await import(name);',
    ].join('\n');
    const refs = moduleReferences(src);
    expect(sorted(refs.specifiers)).toEqual(
      sorted([
        './after-division.ts',
        './types.ts',
        './double.ts',
        './star.ts',
        './named.ts',
        './side-effect.ts',
        './lazy.ts',
        './type-query.ts',
      ]),
    );
    expect(refs.computedImports).toBe(1);
    expect(sorted(refs.specifiers)).toEqual(sorted(typescriptSpecifiers(src)));
  });

  it('follows relative imports only, and refuses one that names no file of the tree', () => {
    const root = mkdtempSync(join(tmpdir(), 'obscura-graph-'));
    dirs.push(root);
    mkdirSync(join(root, 'src/a'), { recursive: true });
    writeFileSync(join(root, 'src/main.ts'), "import { z } from 'zod';\nimport './a/b.ts';\n");
    writeFileSync(join(root, 'src/a/b.ts'), "export const b = await import('../c.ts');\n");
    writeFileSync(join(root, 'src/c.ts'), "import type { X } from './a/b.ts';\n");
    writeFileSync(join(root, 'src/unreached.ts'), "import './main.ts';\n");
    expect(reachableFiles(root, 'src/main.ts')).toEqual(['src/a/b.ts', 'src/c.ts', 'src/main.ts']);

    writeFileSync(join(root, 'src/c.ts'), "import './missing.ts';\n");
    expect(() => reachableFiles(root, 'src/main.ts')).toThrow(
      expect.objectContaining({ code: 'measurement_import_unresolved' }),
    );
    writeFileSync(join(root, 'src/c.ts'), "import '../../outside.ts';\n");
    expect(() => reachableFiles(root, 'src/main.ts')).toThrow(
      expect.objectContaining({ code: 'measurement_import_unresolved' }),
    );
    writeFileSync(join(root, 'src/c.ts'), "import '/etc/passwd';\n");
    expect(() => reachableFiles(root, 'src/main.ts')).toThrow(
      expect.objectContaining({ code: 'measurement_import_unresolved' }),
    );
  });

  it("measures every source file the enclave runs by URL (a worker thread's entry) with its imports", () => {
    // A worker's file is named by `new URL('./x.ts', import.meta.url)` (or a choice of it and
    // its compiled './x.js'), which no import follows: the file starting it imports it too
    // (for its types) so it is measured.
    const reachable = reachableFiles(PROJECT_ROOT, ENCLAVE_ENTRY);
    const byUrl = reachable.flatMap((file) =>
      [
        ...readFileSync(join(PROJECT_ROOT, file), 'utf8').matchAll(/new URL\([^)]*?'(\.{1,2}\/[^']+\.ts)'/g),
      ].map((m) =>
        join(dirname(file), m[1] as string)
          .split('\\')
          .join('/'),
      ),
    );
    expect(byUrl).toContain('src/enclave/csv-worker.ts');
    for (const file of byUrl) expect(reachable).toContain(file);
  });
});
