/** `obscura measure`: print the enclave measurement of this source tree. */
import type { Command } from 'commander';
import { computeMeasurement, measuredFiles } from '../../enclave/measurement.ts';
import { emit } from '../output.ts';

/** Register `measure`. */
export function measureCommand(program: Command): void {
  program
    .command('measure')
    .description('print the enclave measurement of this source tree (see README: which files)')
    .option('--files', 'also list each measured file with its SHA-256')
    .action((opts: { files?: boolean }, cmd: Command) => {
      const measurement = computeMeasurement();
      const files = measuredFiles();
      const text = opts.files ? [...files.map((f) => `${f.sha256}  ${f.path}`), '', measurement].join('\n') : measurement;
      emit(cmd.optsWithGlobals(), { measurement, files }, text);
    });
}
