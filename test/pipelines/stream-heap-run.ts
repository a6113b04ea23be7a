/**
 * Child process of stream-heap.test.ts, run under a small V8 heap cap: generates `rows`
 * rows of CSV, seals them with age and decrypts them again as a stream (no file), and
 * aggregates them through streamed partials under a small DuckDB memory limit; prints the
 * output and the peak RSS as JSON. Arguments: rows, chunk MiB, DuckDB memory limit.
 */
import { Readable } from 'node:stream';
import { decryptStream, encryptStream, generateIdentity } from '../../src/crypto/index.ts';
import { csvChunks } from '../../src/data/csv-chunks.ts';
import { type DatasetSchema, parseDataset } from '../../src/data/index.ts';
import { parsePipeline } from '../../src/pipelines/index.ts';
import { runStreaming } from '../../src/pipelines/partials/stream.ts';

const [rows, chunkMiB, memoryLimit] = [
  Number(process.argv[2]),
  Number(process.argv[3]),
  String(process.argv[4]),
];
const keys = generateIdentity();
let plainBytes = 0;
function* generate() {
  yield Buffer.from('g,k,x\n');
  for (let i = 0; i < rows; ) {
    const lines: string[] = [];
    for (let j = 0; j < 4096 && i < rows; j++, i++) lines.push(`g${i % 10},${i % 1000},${(i % 997) / 8}`);
    const b = Buffer.from(`${lines.join('\n')}\n`);
    plainBytes += b.length;
    yield b;
  }
}
const sealed = Readable.from(generate()).pipe(encryptStream([keys.recipient]));
const plain = sealed.pipe(decryptStream([keys.identity]));
const schema: DatasetSchema = [
  { name: 'g', type: 'string' },
  { name: 'k', type: 'int64' },
  { name: 'x', type: 'float64' },
];
const doc = parsePipeline(`obscura: 1
name: heap
inputs: { t: { columns: { g: string, k: int64, x: float64 } } }
steps:
  - id: a
    aggregate: { from: t, group_by: [g], measures: { n: { count: "*" }, s: { sum: k }, hi: { max: x } } }
outputs: { a: { min_group_size: 2 } }
`);
async function* chunks() {
  for await (const c of csvChunks(plain, chunkMiB * 1024 * 1024)) yield parseDataset(c, 'csv', { schema });
}
const out = await runStreaming(doc, schema, chunks(), { memoryLimit });
process.stdout.write(
  JSON.stringify({ rows: out.a?.rows, plainBytes, rss: process.resourceUsage().maxRSS * 1024 }),
);
