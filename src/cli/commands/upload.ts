/** `obscura upload`: stream a sealed file and its signed manifest to the API. */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { ObscuraError } from '../../common/errors.ts';
import { loadAccountKey } from '../../crypto/index.ts';
import { multipartBody } from '../../client/multipart.ts';
import { ApiClient } from '../client.ts';
import { emit, type GlobalOptions } from '../output.ts';
import { manifestPathFor } from '../paths.ts';
import { progressBar } from '../progress.ts';

/** Register `upload`. */
export function uploadCommand(program: Command): void {
  program
    .command('upload')
    .argument('<file>', 'the sealed file')
    .requiredOption('--key <file>', "the owner's account key file")
    .option('--manifest <file>', 'the signed manifest (default: <file>.manifest.json)')
    .action(async (file: string, opts: { key: string; manifest?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const key = await loadAccountKey(opts.key);
      const manifestPath = opts.manifest ?? manifestPathFor(file);
      const manifest = await readFile(manifestPath, 'utf8').catch((e: unknown) => {
        throw new ObscuraError(
          'manifest_missing',
          `cannot read the manifest ${manifestPath}`,
          400,
          undefined,
          { cause: e },
        );
      });
      // Streamed from disk a block at a time (memory flat in the file's size), with a progress
      // bar on a terminal.
      const bar = progressBar('uploading');
      const body = await multipartBody(
        [
          { name: 'manifest', value: manifest },
          { name: 'sealed', path: file, filename: basename(file) },
        ],
        bar.update,
      ).catch((e: unknown) => {
        throw new ObscuraError('file_unreadable', `cannot read ${file}`, 400, undefined, { cause: e });
      });
      const record = (await new ApiClient(g.api, key)
        .postMultipart('/v1/datasets', body)
        .finally(bar.done)) as {
        id: string;
        rows: number;
      };
      emit(g, record, record.id);
    });
}
