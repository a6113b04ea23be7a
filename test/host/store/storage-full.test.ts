/**
 * A full disk (issue: faults): uploads are refused with `storage_full` (507, problem+json),
 * nothing of them is kept (no staging file, no blob, no dataset), and the node takes uploads
 * again once space returns. Two ways to be full: the operator's floor of free space
 * (OBSCURA_MIN_FREE_BYTES, any machine), and a real filesystem out of space (a small tmpfs,
 * where this machine lets the test mount one: root on Linux), whose ENOSPC maps to the same
 * refusal. In-process over the enclave double (test/helpers/app.ts).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../src/cli/client.ts';
import { sealDataset } from '../../../src/cli/seal-dataset.ts';
import { type AccountKey, accountKeyFromSuri } from '../../../src/crypto/index.ts';
import { BlobStore } from '../../../src/host/store/blobs.ts';
import { EnclaveDouble, startTestApp, type TestApp } from '../../helpers/app.ts';
import { refusal } from '../../helpers/datasets.ts';

let app: TestApp;
let owner: AccountKey;
const work = mkdtempSync(join(tmpdir(), 'obscura-storage-full-'));

/** A sealed CSV of about `bytes` (random text, so it does not compress) and its manifest. */
async function sealed(name: string, bytes: number) {
  const enclave = app.ctx.workers.get('worker-1');
  const rows = ['id,note'];
  for (let i = 0; rows.length * 60 < bytes; i++) rows.push(`${i},${randomBytes(27).toString('hex')}`);
  const file = join(work, `${name}.csv`);
  writeFileSync(file, `${rows.join('\n')}\n`);
  const out = join(work, `${name}.sealed`);
  const { signed } = await sealDataset({
    file,
    out,
    owner,
    worker: { id: 'worker-1', recipient: enclave.info.keys.recipient },
    analysts: [owner.address],
    measurements: [enclave.info.measurement],
  });
  return { out, signed };
}

function upload(s: Awaited<ReturnType<typeof sealed>>): Promise<unknown> {
  const form = new FormData();
  form.append('manifest', JSON.stringify(s.signed));
  form.append('sealed', new Blob([readFileSync(s.out)]), 'x.sealed');
  return new ApiClient(app.url, owner).postForm('/v1/datasets', form);
}

/** Files under a blob store's root (staging and committed). */
function stored(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) =>
    /\.part$|[0-9a-f]{64}$/.test(f),
  );
}

beforeAll(async () => {
  owner = await accountKeyFromSuri('//StorageFullOwner');
  app = await startTestApp({
    enclaves: [
      new EnclaveDouble('worker-1', {
        validate_dataset: ({ input }) => ({
          rows: input.manifest.manifest.rows,
          schema: input.manifest.manifest.schema,
        }),
      }),
    ],
  });
});

afterAll(async () => {
  await app?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('a full disk refuses uploads and keeps nothing, until space returns', () => {
  it("the operator's floor of free space: storage_full, then accepted once lowered", async () => {
    const root = join(app.dataDir, 'blobs');
    const s = await sealed('floor', 2000);
    app.ctx.blobs = new BlobStore(root, Number.MAX_SAFE_INTEGER);
    expect(await refusal(upload(s))).toMatchObject({ status: 507, code: 'storage_full' });
    expect(stored(root)).toEqual([]);
    expect(app.ctx.metadata.datasets()).toEqual([]);
    app.ctx.blobs = new BlobStore(root, 0);
    expect(await upload(s)).toMatchObject({ id: expect.any(String) });
    expect(stored(root)).toHaveLength(1);
  });

  // Mounting needs root (CI containers often are); elsewhere the floor above is the test.
  const mnt = join(work, 'tmpfs');
  let mounted = false;
  try {
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { stdio: 'ignore' });
    mounted = true;
  } catch {
    mounted = false;
  }
  afterAll(() => {
    if (mounted) execFileSync('umount', [mnt], { stdio: 'ignore' });
  });

  it.skipIf(!mounted)(
    'a real filesystem out of space (tmpfs): ENOSPC is storage_full, nothing partial kept',
    async () => {
      const s = await sealed('big', 600_000);
      app.ctx.blobs = new BlobStore(mnt);
      const refused = await refusal(upload(s));
      expect(refused).toMatchObject({ status: 507, code: 'storage_full' });
      expect(stored(mnt), 'no staging file, no blob').toEqual([]);
      // Only the dataset of the test before: the refused one was never recorded.
      expect(app.ctx.metadata.datasets()).toHaveLength(1);
      // Space returns (the operator grows the filesystem): the same upload is taken.
      execFileSync('mount', ['-o', 'remount,size=4m', mnt], { stdio: 'ignore' });
      expect(await upload(s)).toMatchObject({ id: expect.any(String) });
      expect(existsSync(join(mnt, 'tmp'))).toBe(true);
      expect(stored(mnt)).toHaveLength(1);
    },
  );
});
