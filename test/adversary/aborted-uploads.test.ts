/**
 * Attack: start uploads and cut them off mid-file (or go quiet mid-file), again and again,
 * with keys that cost nothing to make, to fill the host's disk with staging files and its
 * process with open descriptors. Promise broken if it works: "uploads that fail leave
 * nothing" and each account's uploads are bounded (issue 14, finding 9: three cut-off
 * uploads left three blobs/tmp/*.part files and three open descriptors, and the staging
 * promise never settled).
 *
 * The host's upload path (createApp, its upload gate and blob store) runs in this test's
 * process, so /proc/self/fd shows its descriptors. The attack is on what the host stages
 * before the enclave is asked, so the enclave is a test double (test/helpers/app.ts) that
 * accepts what the manifest says, as the real one does for an intact file.
 */
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HEADER_ACCOUNT,
  HEADER_BODY,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  requestSigningBytes,
  UNSIGNED_PAYLOAD,
} from '../../src/contracts/request-signing.ts';
import type { WorkerRecord } from '../../src/contracts/worker-record.ts';
import { sealDataset } from '../../src/cli/seal-dataset.ts';
import { type AccountKey, accountKeyFromSuri, generateIdentity } from '../../src/crypto/index.ts';
import type { SignedManifest } from '../../src/crypto/manifest.ts';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import { EnclaveDouble, startTestApp, type TestApp } from '../helpers/app.ts';
import { refusal, sealAndUpload } from '../helpers/datasets.ts';

const CSV = join(PROJECT_ROOT, 'datasets/visits.csv');
const IDLE_MS = 1500;

let t: TestApp;
const work = mkdtempSync(join(tmpdir(), 'obscura-aborted-'));
let owner: AccountKey;
let worker: WorkerRecord;
let signed: SignedManifest;
let sealed: Buffer;

const tmpDir = () => join(t.dataDir, 'blobs', 'tmp');
const partFiles = () => readdirSync(tmpDir());

/** Descriptors of this process (the host's) open on a file under blobs/tmp. */
function stagingDescriptors(): string[] {
  const fds: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(join('/proc/self/fd', fd));
      if (target.startsWith(tmpDir())) fds.push(target);
    } catch {
      // closed between readdir and readlink
    }
  }
  return fds;
}

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Start a signed multipart upload of `signed` and send only the first half of the sealed
 * file. Returns the request (to destroy) and the response's status, once there is one.
 */
function partialUpload(key: AccountKey): {
  req: ReturnType<typeof request>;
  response: Promise<{ status: number; code?: string }>;
} {
  const boundary = `----obscura${Date.now()}${Math.random().toString(16).slice(2)}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="manifest"\r\n\r\n${JSON.stringify(signed)}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="sealed"; filename="x.sealed"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const timestamp = String(Date.now());
  const url = new URL('/v1/datasets', t.url);
  const req = request(url, {
    method: 'POST',
    headers: {
      'content-type': `multipart/form-data; boundary=${boundary}`,
      [HEADER_ACCOUNT]: key.address,
      [HEADER_TIMESTAMP]: timestamp,
      [HEADER_BODY]: UNSIGNED_PAYLOAD,
      [HEADER_SIGNATURE]: key.sign(requestSigningBytes('POST', '/v1/datasets', timestamp, UNSIGNED_PAYLOAD)),
    },
  });
  const response = new Promise<{ status: number; code?: string }>((resolve) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          ...(text ? { code: (JSON.parse(text) as { code?: string }).code } : {}),
        }),
      );
    });
    req.on('error', () => resolve({ status: 0 }));
  });
  req.write(head);
  req.write(sealed.subarray(0, sealed.length >> 1));
  return { req, response };
}

beforeAll(async () => {
  owner = await accountKeyFromSuri('//AbortedOwner');
  const analyst = await accountKeyFromSuri('//AbortedAnalyst');
  // The sealed size does not depend on the recipient: learn it by sealing to a throwaway one.
  const probe = { id: 'probe', recipient: generateIdentity().recipient };
  const size = (
    await sealDataset({
      file: CSV,
      out: join(work, 'probe.sealed'),
      owner,
      worker: probe,
      analysts: [analyst.address],
      measurements: ['0'.repeat(64)],
    })
  ).signed.manifest.ciphertext.bytes;
  const enclave = new EnclaveDouble('worker-1', {
    validate_dataset: ({ input }) => ({
      rows: input.manifest.manifest.rows,
      schema: input.manifest.manifest.schema,
    }),
  });
  // The quota holds one sealed copy and some, so a second dataset cannot fit.
  t = await startTestApp({
    enclaves: [enclave],
    uploadLimits: { inFlightPerAccount: 2, bytesPerAccount: Math.floor(size * 1.6), idleTimeoutMs: IDLE_MS },
  });
  worker = t.ctx.workers.list()[0] as WorkerRecord;
  ({ signed } = await sealDataset({
    file: CSV,
    out: join(work, 'v.sealed'),
    owner,
    worker,
    analysts: [analyst.address],
    measurements: [worker.measurement],
  }));
  sealed = readFileSync(join(work, 'v.sealed'));
});

afterAll(async () => {
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('uploads that fail', () => {
  it('leave no staging file and no open descriptor when cut off mid-file, three times over', async () => {
    for (let i = 0; i < 3; i++) {
      const { req } = partialUpload(owner);
      // The host is staging: a .part file is open.
      await until('staging to start', () => partFiles().length === 1 && stagingDescriptors().length === 1);
      req.destroy();
      await until(
        'the staging file to go',
        () => partFiles().length === 0 && stagingDescriptors().length === 0,
      );
    }
    expect(partFiles()).toEqual([]);
    expect(stagingDescriptors()).toEqual([]);
    // Every cut-off upload settled and gave its slot back: with two allowed in flight, this one runs.
    const ok = await sealAndUpload({
      url: t.url,
      file: CSV,
      out: join(work, 'good.sealed'),
      owner,
      worker,
      analysts: [owner.address],
    });
    expect(ok.dataset).toMatch(/^[0-9a-f]{32}$/);
    expect(partFiles()).toEqual([]);
  }, 60_000);

  it('cuts off an upload that goes quiet, and leaves nothing', async () => {
    const { req, response } = partialUpload(owner);
    await until('staging to start', () => partFiles().length === 1);
    expect(await response).toEqual({ status: 408, code: 'upload_timeout' });
    await until(
      'the staging file to go',
      () => partFiles().length === 0 && stagingDescriptors().length === 0,
    );
    req.destroy();
  }, 30_000);

  it('bounds the uploads one account has in flight', async () => {
    const a = partialUpload(owner);
    const b = partialUpload(owner);
    await until('two uploads staging', () => partFiles().length === 2);
    const third = partialUpload(owner);
    expect(await third.response).toEqual({ status: 429, code: 'upload_limit_exceeded' });
    third.req.destroy();
    a.req.destroy();
    b.req.destroy();
    await until(
      'the staging files to go',
      () => partFiles().length === 0 && stagingDescriptors().length === 0,
    );
  }, 30_000);

  it("refuses an upload past the account's storage quota, and leaves nothing", async () => {
    // The account keeps one sealed copy already; a second does not fit.
    const e = await refusal(
      sealAndUpload({
        url: t.url,
        file: CSV,
        out: join(work, 'second.sealed'),
        owner,
        worker,
        analysts: [owner.address],
      }),
    );
    expect(e).toMatchObject({ status: 413, code: 'storage_quota_exceeded' });
    await until(
      'the staging file to go',
      () => partFiles().length === 0 && stagingDescriptors().length === 0,
    );
    // Another account is not held to this one's quota.
    const other = await accountKeyFromSuri('//AbortedOther');
    const ok = await sealAndUpload({
      url: t.url,
      file: CSV,
      out: join(work, 'other.sealed'),
      owner: other,
      worker,
      analysts: [other.address],
    });
    expect(ok.dataset).toMatch(/^[0-9a-f]{32}$/);
  }, 60_000);
});
