#!/usr/bin/env node
// The `obscura` command. It runs the compiled JavaScript in dist/ (`npm run build`, which
// `npm install` and `npm ci` run through `prepare`): no transpiling at start-up, and the CLI
// bundled into a few files (dist/cli-bundle/, scripts/cli-bundle.ts) rather than hundreds of
// modules to resolve and read; a command that reads files beside its own modules (`serve`,
// `dashboard`: `fromFiles` in src/cli/commands/index.ts) runs from dist/cli/. When dist/
// is missing, older than any source file (an edit not yet built), or OBSCURA_FROM_SOURCE is
// set, it runs the TypeScript sources through tsx instead, so what runs is never stale.
// Either way the enclave itself runs from the measured sources (src/contracts/measurement.ts).
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);

/**
 * The newest modification time under `dir` (a path ending in /), the directory's own and its
 * entries' included, so an added or removed file counts as well as an edited one. Walked by
 * hand: readdirSync's `recursive` costs ~15 CPU-ms more here, a tenth of a short command.
 */
function newest(dir) {
  let max = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = dir + e.name;
    const m = e.isDirectory() ? newest(`${path}/`) : statSync(path).mtimeMs;
    if (m > max) max = m;
  }
  return max;
}

/** Whether dist/ holds a complete build (its stamp) newer than every file under src/. */
function freshBuild() {
  if (process.env.OBSCURA_FROM_SOURCE) return false;
  let built;
  try {
    built = statSync(new URL('dist/.built', root)).mtimeMs;
  } catch {
    return false;
  }
  return newest(fileURLToPath(new URL('src/', root))) <= built;
}

if (freshBuild()) {
  // The command table imports nothing: reading it costs a millisecond.
  const { commandWord, findCommand } = await import('../dist/cli/commands/index.js');
  const command = findCommand(commandWord(process.argv.slice(2)) ?? '');
  await import(command?.fromFiles ? '../dist/cli/main.js' : '../dist/cli-bundle/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
