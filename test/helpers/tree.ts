import { appendFileSync, cpSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import { freshBuild } from './compiled-enclave.ts';

/**
 * A copy of this project's code with one enclave file changed: new code, so a new
 * measurement, as an upgraded release would have. node_modules is linked, not copied.
 * When this project's build is fresh the copy gets it too, stamped after the change: the
 * change is a comment, which esbuild drops, so it is the build `npm run build` would write
 * there, and the copy's `obscura` and enclave start without tsx (compiled-enclave.ts).
 */
export function upgradedTree(note: string): string {
  const root = mkdtempSync(join(tmpdir(), 'obscura-upgraded-'));
  for (const f of ['src', 'bin']) cpSync(join(PROJECT_ROOT, f), join(root, f), { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) cpSync(join(PROJECT_ROOT, f), join(root, f));
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  const built = freshBuild();
  if (built) cpSync(join(PROJECT_ROOT, 'dist'), join(root, 'dist'), { recursive: true });
  appendFileSync(join(root, 'src/enclave/main.ts'), `\n// release note: ${note}\n`);
  if (built) writeFileSync(join(root, 'dist/.built'), `${new Date().toISOString()}\n`);
  writeFileSync(join(root, 'UPGRADED'), note);
  return root;
}
