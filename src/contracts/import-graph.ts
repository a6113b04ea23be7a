/**
 * The import graph of this project's TypeScript sources, read without a compiler: the
 * enclave measures exactly the files its entry point reaches, and a compiler is a dev
 * dependency a deployed enclave does not have. The test checks this reading against
 * TypeScript's own (test/contracts/import-graph.test.ts).
 *
 * An import is every module specifier a file names: `import … from 'x'`, `import 'x'`,
 * `export … from 'x'` (type-only ones too: the boundary holds for types as well) and
 * `import('x')` with a string literal. Relative specifiers are files in the tree and are
 * followed; bare ones (`zod`, `node:fs`) are packages, pinned by package-lock.json.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ObscuraError } from '../common/errors.ts';

/** What one source file names: its module specifiers, and dynamic imports of computed names. */
export interface ModuleReferences {
  specifiers: string[];
  /** `import(expr)` whose argument is not a string literal: code no reader can follow. */
  computedImports: number;
}

type Token = { kind: 'word' | 'punct' | 'string' | 'other'; text: string };

// After these a `/` starts a regular expression, not a division.
const BEFORE_REGEX_WORDS = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);
const WORD = /[A-Za-z0-9_$\u0080-\uffff]/;

/** The tokens of `src` that matter to imports: words, punctuation and string literals. */
function tokenize(src: string): Token[] {
  const out: Token[] = [];
  // Brace depth at which each open template literal resumes after `${ … }`.
  const templates: number[] = [];
  let depth = 0;
  let i = 0;
  const n = src.length;
  const regexAllowed = (): boolean => {
    const last = out[out.length - 1];
    if (!last) return true;
    if (last.kind === 'word') return BEFORE_REGEX_WORDS.has(last.text);
    if (last.kind === 'punct') return !(last.text === ')' || last.text === ']' || last.text === '}');
    return false;
  };
  const readTemplate = (): void => {
    // i is just past the opening backtick or a closing `}` of a substitution.
    while (i < n) {
      const c = src[i];
      if (c === '\\') i += 2;
      else if (c === '`') {
        i++;
        out.push({ kind: 'other', text: 'template' });
        return;
      } else if (c === '$' && src[i + 1] === '{') {
        i += 2;
        templates.push(depth);
        depth++;
        out.push({ kind: 'punct', text: '(' });
        return;
      } else i++;
    }
  };
  while (i < n) {
    const c = src[i] as string;
    if (c === '/' && src[i + 1] === '/') {
      const end = src.indexOf('\n', i);
      i = end < 0 ? n : end;
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let text = '';
      while (j < n && src[j] !== c && src[j] !== '\n') {
        if (src[j] === '\\') {
          text += src[j + 1] ?? '';
          j += 2;
        } else text += src[j++];
      }
      out.push({ kind: 'string', text });
      i = j + 1;
    } else if (c === '`') {
      i++;
      readTemplate();
    } else if (c === '/' && regexAllowed()) {
      let j = i + 1;
      let inClass = false;
      while (j < n && src[j] !== '\n') {
        const d = src[j];
        if (d === '\\') j++;
        else if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        else if (d === '/' && !inClass) break;
        j++;
      }
      j++;
      while (j < n && WORD.test(src[j] as string)) j++;
      out.push({ kind: 'other', text: 'regex' });
      i = j;
    } else if (WORD.test(c)) {
      let j = i + 1;
      while (j < n && WORD.test(src[j] as string)) j++;
      out.push({ kind: 'word', text: src.slice(i, j) });
      i = j;
    } else if (/\s/.test(c)) i++;
    else {
      if (c === '{') depth++;
      else if (c === '}') {
        depth--;
        if (templates.length > 0 && templates[templates.length - 1] === depth) {
          templates.pop();
          i++;
          out.push({ kind: 'punct', text: ')' });
          readTemplate();
          continue;
        }
      }
      out.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return out;
}

/** The module specifiers `src` (TypeScript or JavaScript source) imports or re-exports. */
export function moduleReferences(src: string): ModuleReferences {
  const tokens = tokenize(src);
  const specifiers: string[] = [];
  let computedImports = 0;
  tokens.forEach((t, k) => {
    const next = tokens[k + 1];
    const prev = tokens[k - 1];
    // `.from` and `.import` are property accesses, not syntax.
    if (t.kind !== 'word' || (prev?.kind === 'punct' && prev.text === '.') || !next) return;
    if (t.text === 'from' && next.kind === 'string') specifiers.push(next.text);
    else if (t.text === 'import' && next.kind === 'string') specifiers.push(next.text);
    else if (t.text === 'import' && next.kind === 'punct' && next.text === '(') {
      const arg = tokens[k + 2];
      const close = tokens[k + 3];
      if (arg?.kind === 'string' && close?.kind === 'punct' && (close.text === ')' || close.text === ','))
        specifiers.push(arg.text);
      else computedImports++;
    }
  });
  return { specifiers, computedImports };
}

/** A project-relative path with POSIX separators. */
function projectPath(root: string, abs: string): string {
  return relative(root, abs).split(sep).join('/');
}

/**
 * Every file of the tree at `root` reachable from `entry` (project-relative) by imports of
 * relative specifiers, entry included, as sorted project-relative paths. An import that
 * leaves the tree or names no file is an error: the measurement would silently miss code
 * the enclave runs.
 */
export function reachableFiles(root: string, entry: string): string[] {
  const seen = new Set<string>();
  const queue = [resolve(root, entry)];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    const rel = projectPath(root, file);
    if (seen.has(rel)) continue;
    if (rel.startsWith('..') || isAbsolute(rel) || !existsSync(file) || !statSync(file).isFile()) {
      throw new ObscuraError(
        'measurement_import_unresolved',
        `an enclave import names ${rel}, which is not a file of the tree`,
        500,
      );
    }
    seen.add(rel);
    if (!/\.[cm]?[jt]s$/.test(file)) continue;
    // Imports by a computed name are not followed; the test lists the few there are.
    for (const s of moduleReferences(readFileSync(file, 'utf8')).specifiers) {
      if (s.startsWith('./') || s.startsWith('../')) queue.push(join(dirname(file), s));
      else if (s.startsWith('/') || s.startsWith('file:') || s.startsWith('#')) {
        throw new ObscuraError(
          'measurement_import_unresolved',
          `${rel} imports ${s}, which the measurement does not follow`,
          500,
        );
      }
    }
  }
  return [...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
