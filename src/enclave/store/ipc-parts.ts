/**
 * A store chunk's Arrow IPC stream as the list of its byte ranges, in order, instead of one
 * joined buffer: the same bytes `tableToIPC(table, 'stream')` returns (the same writer
 * makes them), but the column's value buffers come through as views of the table's own
 * memory rather than being copied into a fresh buffer the size of the chunk. The store
 * seals the ranges one after another into one AES-GCM piece, so the joined copy — fresh
 * memory on every chunk, first-touch page faults and collector work — is never made.
 */
import { AsyncByteQueue, RecordBatchStreamWriter, type Table } from 'apache-arrow';

/** A sink that keeps each range the writer hands it, in order, without joining them. */
class Ranges extends AsyncByteQueue<Uint8Array> {
  readonly parts: Uint8Array[] = [];
  override write(value: Uint8Array): void {
    if (value.byteLength > 0) this.parts.push(value);
  }
}

/**
 * The IPC stream of `table` as byte ranges. Some ranges are views of `table`'s buffers (so
 * must not be wiped by the caller); the others are the writer's own (metadata, padding,
 * rebased string offsets), listed in `copies` for the caller to wipe after sealing.
 */
export function ipcParts(table: Table): { parts: Uint8Array[]; copies: Uint8Array[] } {
  const sink = new Ranges();
  const writer = new RecordBatchStreamWriter();
  writer.reset(sink);
  writer.writeAll(table);
  const own = new Set<ArrayBufferLike>();
  for (const batch of table.batches)
    for (const child of batch.data.children)
      for (const b of [child.values, child.valueOffsets, child.nullBitmap]) if (b) own.add(b.buffer);
  return { parts: sink.parts, copies: sink.parts.filter((p) => !own.has(p.buffer)) };
}
