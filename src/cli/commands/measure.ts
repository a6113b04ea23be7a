/** `obscura measure`: print the enclave measurement of this source tree. */
import type { Command } from 'commander';
import { computeMeasurement, measuredFiles } from '../../contracts/measurement.ts';
import { emit } from '../output.ts';

/** Register `measure`. */
export function measureCommand(program: Command): void {
  program
    .command('measure')
    .option(
      '--files',
      'list the measured files instead, as `sha256sum` prints them (SHA-256, two spaces, path)',
    )
    .action((opts: { files?: boolean }, cmd: Command) => {
      const files = measuredFiles();
      const measurement = computeMeasurement();
      // The listing alone, so coreutils can take it as it is (README: "Measurement").
      const text = opts.files ? files.map((f) => `${f.sha256}  ${f.path}`).join('\n') : measurement;
      emit(cmd.optsWithGlobals(), { measurement, files }, text);
    });
}
