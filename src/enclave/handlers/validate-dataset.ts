/**
 * `validate_dataset`: open a sealed dataset and check it against its owner's manifest. The
 * host learns only what the manifest already states: the row count and the schema. A CSV
 * large beside the memory limit is checked a chunk at a time (stream-input.ts), its store
 * written a chunk at a time as it goes; any other dataset is checked whole, then gets its
 * columnar store written beside the staged upload (store/) and its columns copied into the
 * warm cache when it has room.
 */
import { manifestHash } from '../../crypto/manifest.ts';
import { ingestSealedInput } from '../ingest.ts';
import { keepStoreFrom } from '../store/open.ts';
import { prewarm } from '../store/prewarm.ts';
import { streamChunkBytes, streamSealedCsv, streamsInput } from '../stream-input.ts';
import { handler } from './handler.ts';

export const validateDataset = handler('validate_dataset', async (req, cx) => {
  const { manifest } = req.input.manifest;
  if (streamsInput(manifest, cx.ctx.limits.memoryBytes)) {
    let rows = 0;
    const pieces = streamSealedCsv(req.input, cx.ctx, streamChunkBytes(cx.ctx.limits.memoryBytes));
    // Its store is written a piece at a time as the stream is checked; a stream that fails a
    // check at its end leaves none.
    await keepStoreFrom(
      req.input,
      cx.ctx,
      (async function* () {
        for await (const piece of pieces) {
          rows += piece.rows;
          yield piece;
        }
      })(),
    );
    cx.remember([{ manifest: req.input.manifest, manifestHash: manifestHash(manifest) }]);
    return { rows, schema: manifest.schema };
  }
  // Kept beside the staged upload as encrypted column chunks, written as the CSV is parsed
  // (ingest.ts); the host commits or discards it with the upload…
  const { opened, stored } = await ingestSealedInput(req.input, cx.ctx);
  // …and copied into the warm cache when it has room, after this reply (store/prewarm.ts).
  if (stored) void (await prewarm(req.input, opened, cx.ctx)).filled;
  cx.remember([opened]);
  return { rows: opened.data.rows, schema: opened.data.schema };
});
