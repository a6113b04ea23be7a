/**
 * `npm run build` (and `prepare`, so `npm install` / `npm ci` run it): the compiled
 * JavaScript the `obscura` command runs, in dist/, mirroring src/ file for file.
 *
 * esbuild transpiles each source file on its own (no bundling: every import stays an
 * import, relative ones renamed from .ts to .js), so dist/<area>/<file>.js sits at the same
 * depth as src/<area>/<file>.ts and paths taken from import.meta.url (PROJECT_ROOT, the
 * dashboard page) stay right. Files other than TypeScript (the dashboard page and its icon) are copied.
 * esbuild comes with tsx (a dependency, which pins it). The library entry's type
 * declarations (dist/client/*.d.ts and what they import, for `import … from 'obscura'`) come
 * from tsc without type checking (tsconfig.types.json); types are checked by `npm run lint`.
 *
 * The CLI is also bundled into dist/cli-bundle/ (scripts/cli-bundle.ts): a few files for a
 * fresh `obscura` process to load instead of hundreds. bin/obscura.js runs it for every
 * command but those that read files beside their own modules (`fromFiles` in
 * src/cli/commands/index.ts), which run from dist/cli/.
 *
 * The enclave does not run from dist/: the host starts it from the measured sources under
 * src/ (src/contracts/measurement.ts), so a build never changes what is measured.
 *
 * dist/.built is written last: bin/obscura.js runs dist/ only when that stamp is newer than
 * every source file, so a half-written or stale build is never run.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { bundleCli } from './cli-bundle.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');

/** Keep every import as it is written, except a relative `.ts` one, which becomes `.js`. */
const keepImports: Plugin = {
  name: 'keep-imports',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const relative = args.path.startsWith('./') || args.path.startsWith('../');
      return { path: relative ? args.path.replace(/\.ts$/, '.js') : args.path, external: true };
    });
  },
};

const started = Date.now();
const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' });
const entryPoints = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => join(SRC, f));
rmSync(DIST, { recursive: true, force: true });
await build({
  entryPoints,
  outdir: DIST,
  outbase: SRC,
  bundle: true,
  plugins: [keepImports],
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});
for (const f of files.filter((f) => /\.(?:html|svg)$/.test(f))) cpSync(join(SRC, f), join(DIST, f));
await bundleCli(join(SRC, 'cli/main.ts'), join(DIST, 'cli-bundle'));
// typescript is a devDependency: an install without them still gets a working CLI and library.
let tsc: string | undefined;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  process.stdout.write('typescript is not installed: no type declarations for the library entry\n');
}
if (tsc) execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.types.json')], { stdio: 'inherit' });
writeFileSync(join(DIST, '.built'), `${new Date().toISOString()}\n`);
process.stdout.write(
  `built ${entryPoints.length} files and the CLI bundle into dist/ in ${Date.now() - started} ms\n`,
);
