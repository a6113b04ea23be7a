import { cpSync, mkdtempSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';

/**
 * A copy of this project's code with one enclave file changed: new code, so a new
 * measurement, as an upgraded release would have. node_modules is linked, not copied.
 */
export function upgradedTree(note: string): string {
  const root = mkdtempSync(join(tmpdir(), 'obscura-upgraded-'));
  for (const f of ['src', 'bin']) cpSync(join(PROJECT_ROOT, f), join(root, f), { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) cpSync(join(PROJECT_ROOT, f), join(root, f));
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  appendFileSync(join(root, 'src/enclave/main.ts'), `\n// release note: ${note}\n`);
  writeFileSync(join(root, 'UPGRADED'), note);
  return root;
}
