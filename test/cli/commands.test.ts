/**
 * The lazy command table (src/cli/commands/index.ts) names every command the modules
 * define, so `obscura --help` lists them all without loading any; and the command word is
 * found past global options.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, commandWord, findCommand } from '../../src/cli/commands/index.ts';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import { obscura } from '../helpers/cli.ts';

describe('CLI command table', () => {
  it('names exactly the top-level commands the modules register, with their aliases', async () => {
    const registered = new Command();
    for (const load of new Set(COMMANDS.map((c) => c.load))) (await load())(registered);
    const names = registered.commands.map((c) => [c.name(), ...c.aliases()].join('|')).sort();
    expect(names).toEqual(COMMANDS.map((c) => [c.name, ...(c.aliases ?? [])].join('|')).sort());
  });

  it('finds the command word past global options', () => {
    expect(commandWord(['--api', 'http://x', '--json', 'result', 'r1'])).toBe('result');
    expect(commandWord(['--json'])).toBeUndefined();
    expect(commandWord(['help', 'run'])).toBe('run');
    expect(findCommand('results')?.name).toBe('result');
  });

  it('an unknown command is named, with the closest one suggested', async () => {
    const r = await obscura(['reslt', 'r1'], { cwd: PROJECT_ROOT });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      'obscura: unknown command reslt (did you mean result?); obscura --help lists the commands (command_unknown)',
    );
  });

  it('obscura --help lists every command', async () => {
    const r = await obscura(['--help'], { cwd: PROJECT_ROOT });
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c.name}\\b`, 'm'));
  });
});
