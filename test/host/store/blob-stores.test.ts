/**
 * The enclave's store beside a blob (`<blob>.store/<manifest hash>/`) lives and dies with
 * it: committed with the blob (a store already there for another manifest is kept),
 * discarded with a staged blob, removed with a blob, and swept at start when its blob is
 * not kept — a crash between the store's move and the blob's leaves nothing behind.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../../src/host/store/blobs.ts';

const root = mkdtempSync(join(tmpdir(), 'obscura-blob-stores-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function storeBeside(path: string, manifest: string) {
  mkdirSync(join(`${path}.store`, manifest), { recursive: true });
  writeFileSync(join(`${path}.store`, manifest, 'index'), 'sealed');
}

describe('stores beside blobs', () => {
  it('commit with the blob, are discarded, removed and swept with it', async () => {
    const blobs = new BlobStore(root);
    const a = await blobs.stage(Readable.from([Buffer.from('age-encryption.org/v1\none')]), 1000);
    storeBeside(a.tmpPath, 'm1');
    const path = await blobs.commit(a);
    expect(existsSync(join(`${path}.store`, 'm1', 'index'))).toBe(true);
    expect(existsSync(`${a.tmpPath}.store`)).toBe(false);
    // The same sealed file uploaded again under another manifest: both stores stay.
    const again = await blobs.stage(Readable.from([Buffer.from('age-encryption.org/v1\none')]), 1000);
    storeBeside(again.tmpPath, 'm2');
    await blobs.commit(again);
    expect(existsSync(join(`${path}.store`, 'm1', 'index'))).toBe(true);
    expect(existsSync(join(`${path}.store`, 'm2', 'index'))).toBe(true);
    const b = await blobs.stage(Readable.from([Buffer.from('age-encryption.org/v1\ntwo')]), 1000);
    storeBeside(b.tmpPath, 'm3');
    await blobs.discard(b);
    expect(existsSync(`${b.tmpPath}.store`)).toBe(false);
    // Swept: a store whose blob is not kept, e.g. left by a crash before the blob's rename.
    storeBeside(blobs.pathOf('f'.repeat(64)), 'm4');
    expect(await blobs.sweepOrphans(new Set([a.sha256]))).toBe(1);
    expect(existsSync(`${blobs.pathOf('f'.repeat(64))}.store`)).toBe(false);
    expect(existsSync(join(`${path}.store`, 'm1', 'index'))).toBe(true);
    await blobs.remove(a.sha256);
    expect(existsSync(`${path}.store`)).toBe(false);
  });
});
