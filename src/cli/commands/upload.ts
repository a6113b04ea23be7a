/** `obscura upload`: stream a sealed file and its signed manifest to the API. */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { isObscuraError, ObscuraError } from '../../common/errors.ts';
import { loadAccountKey } from '../../crypto/index.ts';
import { multipartBody } from '../../client/multipart.ts';
import { ApiClient } from '../client.ts';
import { emit, type GlobalOptions } from '../output.ts';
import { manifestPathFor } from '../paths.ts';
import { progressBar } from '../progress.ts';

/**
 * The enclave's refusal of a value that does not fit its column's type in the manifest, as
 * the enclave words it (data/csv-scan.ts: column and type, never the value nor the row;
 * only the code and message cross from the enclave), with what the owner can do about it: `obscura seal`
 * types a CSV's columns from its first rows unless told otherwise, so a value further on
 * may not fit.
 */
const NOT_OF_TYPE = /^CSV, a row, column ("(?:[^"\\]|\\.)*"): value is not a valid [a-z0-9]+$/;

/** `e` with advice for the owner when it is a value that does not fit its column's type. */
function withAdvice(e: unknown): unknown {
  const m = isObscuraError(e, 'dataset_invalid') ? NOT_OF_TYPE.exec(e.message) : null;
  if (!m || !isObscuraError(e)) return e;
  const column = JSON.parse(m[1] as string) as string;
  return new ObscuraError(
    e.code,
    `${e.message}; nothing was stored. The manifest's type for the column may come from a sample of the file's first rows: seal it again with \`obscura seal --full-check\` (types every column from all its values, and names the row of a value that fits no type) or \`--type ${column}=<type>\``,
    e.status,
    e.details,
  );
}

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
        .catch((e: unknown) => {
          throw withAdvice(e);
        })
        .finally(bar.done)) as {
        id: string;
        rows: number;
      };
      emit(g, record, record.id);
    });
}
