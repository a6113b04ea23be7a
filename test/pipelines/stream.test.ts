/**
 * Larger than memory: a sealed CSV read a chunk at a time (decrypted, hashed and parsed per
 * chunk of whole rows, quoted newlines included) and aggregated through merged partials
 * gives what a run over the whole dataset gives; a tampered or mislabelled file is refused
 * at the end of the stream, before anything could be released; a pipeline that cannot
 * stream (a join) is refused by name. The run under a small heap cap is in
 * test/pipelines/stream-heap.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealDataset } from '../../src/cli/seal-dataset.ts';
import { accountKeyFromSuri, encryptToBuffer, generateIdentity } from '../../src/crypto/index.ts';
import type { SignedManifest } from '../../src/crypto/manifest.ts';
import { csvChunks } from '../../src/data/csv-chunks.ts';
import { parseDataset } from '../../src/data/index.ts';
import { streamSealedCsv } from '../../src/enclave/stream-input.ts';
import { parsePipeline, runPipeline } from '../../src/pipelines/index.ts';
import { planStreaming, runStreaming } from '../../src/pipelines/partials/stream.ts';
import { caught, caughtSync } from './fixtures.ts';

const work = mkdtempSync(join(tmpdir(), 'obscura-stream-'));
const keys = generateIdentity();
const ctx = { ageIdentity: keys.identity, recipient: keys.recipient, measurement: 'm'.repeat(64) };
let signed: SignedManifest;
let sealed: string;
let csv: string;

function rows(n: number): string {
  const lines = ['region,k,note'];
  for (let i = 0; i < n; i++) {
    const note = i % 7 === 0 ? `"line\nbreak, ""quoted"""` : `n${i % 5}`;
    lines.push(
      `${['a', 'b', 'c', 'rare'][i % 4 === 3 && i % 40 !== 3 ? i % 3 : i % 4]},${(i * 37) % 1001},${note}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const DOC = parsePipeline(`obscura: 1
name: stream
inputs: { t: { columns: { region: string, k: int64, note: string } } }
steps:
  - id: kept
    filter: { from: t, where: "k > 10" }
  - id: g
    aggregate:
      from: kept
      group_by: [region]
      measures:
        n: { count: "*" }
        s: { sum: k }
        v: { variance: k }
        hi: { max: k }
        h: { histogram: k, bins: 4, bounds: [0, 1000] }
        p: { quantile: k, q: 0.9, bounds: [0, 1000] }
outputs: { g: { min_group_size: 20 } }
`);

beforeAll(async () => {
  csv = rows(30_000);
  const file = join(work, 't.csv');
  writeFileSync(file, csv);
  sealed = join(work, 't.sealed');
  const owner = await accountKeyFromSuri('//StreamOwner');
  ({ signed } = await sealDataset({
    file,
    out: sealed,
    owner,
    worker: { id: 'w', recipient: ctx.recipient },
    analysts: [],
    measurements: [ctx.measurement],
  }));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const input = (over: Partial<{ blobPath: string; manifest: SignedManifest }> = {}) => ({
  datasetId: 'd1',
  blobPath: sealed,
  manifest: signed,
  ...over,
});

describe('streamed aggregation', () => {
  it('gives what a run over the whole dataset gives, chunk after chunk of a sealed CSV', async () => {
    const whole = (await runPipeline(DOC, { t: await parseDataset(Buffer.from(csv), 'csv') })).g;
    let chunks = 0;
    const counted = (async function* () {
      for await (const c of streamSealedCsv(input(), ctx, 16 * 1024)) {
        chunks++;
        yield c;
      }
    })();
    const got = (await runStreaming(DOC, signed.manifest.schema, counted)).g;
    expect(chunks).toBeGreaterThan(3);
    // region, n, s exact; hi and h exact; v to rounding; p within one bin (1000 / 1024).
    expect(got?.rows.map((r) => [...r.slice(0, 3), r[4], r[5]])).toEqual(
      whole?.rows.map((r) => [...r.slice(0, 3), r[4], r[5]]),
    );
    expect(got?.suppressedGroups).toBe(whole?.suppressedGroups);
    got?.rows.forEach((r, i) => {
      expect(r[3] as number).toBeCloseTo(whole?.rows[i]?.[3] as number, 6);
      expect(Math.abs((r[6] as number) - (whole?.rows[i]?.[6] as number))).toBeLessThanOrEqual(2);
    });
  });

  it('cuts chunks at row ends outside quotes only', async () => {
    async function* bytes() {
      const b = Buffer.from(csv);
      for (let i = 0; i < b.length; i += 999) yield b.subarray(i, i + 999);
    }
    let total = 0;
    for await (const c of csvChunks(bytes(), 4096)) total += (await parseDataset(c, 'csv')).rows;
    expect(total).toBe(30_000);
  });

  it('refuses a file that is not what its owner signed, at the end of the stream', async () => {
    const other = join(work, 'other.sealed');
    writeFileSync(other, readFileSync(sealed));
    const forged = { ...signed, manifest: { ...signed.manifest, rows: 4999 } };
    await caught(async () => {
      for await (const _ of streamSealedCsv(input({ manifest: forged }), ctx, 16 * 1024));
    }, 'manifest_signature_invalid');
    const flipped = readFileSync(sealed);
    const at = flipped.length - 100;
    flipped.writeUInt8((flipped.readUInt8(at) ^ 1) & 0xff, at);
    writeFileSync(other, flipped);
    const e = await caught(async () => {
      for await (const _ of streamSealedCsv(input({ blobPath: other }), ctx, 16 * 1024));
    }, 'ciphertext_hash_mismatch');
    expect(e.message).not.toContain('break');
    // Another file sealed to this enclave, which decrypts but does not parse: not the file
    // the owner signed is the error, as when the ciphertext was hashed before decrypting.
    writeFileSync(other, await encryptToBuffer([ctx.recipient], Buffer.from('region,n\nnorth,1,2,3\n')));
    await caught(async () => {
      for await (const _ of streamSealedCsv(input({ blobPath: other }), ctx, 16 * 1024));
    }, 'ciphertext_hash_mismatch');
  });

  it('refuses to stream a join, naming it', () => {
    const join2 = parsePipeline(`obscura: 1
name: j
inputs: { t: { columns: { region: string, k: int64, note: string } } }
steps:
  - id: self
    join: { left: t, right: t, on: [region] }
  - id: g
    aggregate: { from: self, measures: { n: { count: "*" } } }
outputs: { g: {} }
`);
    const e = caughtSync(() => planStreaming(join2, signed.manifest.schema), 'pipeline_partial_unsupported');
    expect(e.message).toContain('step self is a join');
  });
});
