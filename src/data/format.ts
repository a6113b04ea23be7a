/**
 * Recognising a dataset's format from its first bytes: Parquet files start with `PAR1`,
 * Arrow IPC files with `ARROW1` and Arrow IPC streams with the 0xFFFFFFFF continuation
 * marker; anything else that looks like text is CSV. The file name only breaks ties: a
 * name that claims Parquet or Arrow without the magic bytes, or binary bytes, is refused.
 */
import { ObscuraError } from '../common/errors.ts';
import type { DatasetFormat } from './schema.ts';

const PAR1 = [0x50, 0x41, 0x52, 0x31];
const ARROW1 = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31];
const CONTINUATION = [0xff, 0xff, 0xff, 0xff];

function startsWith(head: Uint8Array, magic: readonly number[]): boolean {
  return head.length >= magic.length && magic.every((b, i) => head[i] === b);
}

/**
 * The format of a dataset given its file name and first bytes (16 are plenty).
 * Throws ObscuraError 'dataset_format_unknown' (415) when neither says what it is.
 */
export function detectFormat(fileName: string, head: Uint8Array): DatasetFormat {
  if (startsWith(head, PAR1)) return 'parquet';
  if (startsWith(head, ARROW1) || startsWith(head, CONTINUATION)) return 'arrow';
  const ext = /\.([A-Za-z0-9]+)$/.exec(fileName)?.[1]?.toLowerCase();
  const claimsBinary =
    ext === 'parquet' ||
    ext === 'pq' ||
    ext === 'arrow' ||
    ext === 'arrows' ||
    ext === 'feather' ||
    ext === 'ipc';
  if (!claimsBinary && !head.subarray(0, 64).includes(0)) return 'csv';
  throw new ObscuraError(
    'dataset_format_unknown',
    `cannot tell the format of ${JSON.stringify(fileName)}: expected CSV text, Parquet (PAR1) or Arrow IPC (ARROW1)`,
    415,
    { fileName },
  );
}
