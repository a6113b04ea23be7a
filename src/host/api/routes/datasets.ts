/**
 * Datasets: streaming upload of a sealed file with its signed manifest, and metadata reads.
 *
 * POST /v1/datasets takes multipart/form-data with a `manifest` field (the signed manifest
 * JSON) followed by a `sealed` file part. The file streams to a temporary blob while being
 * hashed; only after every check passes (manifest signature and owner, age header, size and
 * SHA-256 against the manifest, and the enclave's full decrypt-and-verify) is the blob
 * renamed into place and the dataset recorded. Any failure (a check, an abort, a malformed
 * body, a client gone quiet) closes and deletes the temporary blob, so a failed upload
 * leaves nothing behind. Each account has a bounded number of uploads in flight and of
 * bytes stored (src/host/api/uploads.ts).
 */
import busboy from 'busboy';
import { type Request, Router } from 'express';
import { ObscuraError } from '../../../common/errors.ts';
import { failpoint } from '../../../common/failpoint.ts';
import { inspectHeader } from '../../../crypto/index.ts';
import {
  assertManifestSignature,
  manifestHash,
  parseSignedManifest,
  type SignedManifest,
} from '../../../crypto/manifest.ts';
import type { Readable } from 'node:stream';
import type { StagedBlob } from '../../store/index.ts';
import { storageFull } from '../../store/blobs.ts';
import { readableDatasetsPage } from '../access.ts';
import type { HostContext } from '../context.ts';
import { storageQuotaExceeded, type UploadSlot } from '../uploads.ts';

/**
 * Read the multipart upload: the manifest first, then the sealed file staged to disk within
 * `slot.maxBytes`. Settles on every path: when the client aborts, the body is malformed, a
 * check fails or the client goes quiet (uploadLimits.idleTimeoutMs), the file stream is destroyed, so the
 * staging file is closed and deleted before the promise rejects.
 */
function receiveUpload(
  req: Request,
  ctx: HostContext,
  owner: string,
  slot: UploadSlot,
): Promise<{ signed: SignedManifest; staged: StagedBlob }> {
  return new Promise((resolve, reject) => {
    let signed: SignedManifest | undefined;
    let staging: Promise<StagedBlob> | undefined;
    let file: Readable | undefined;
    let failed = false;
    const idleMs = ctx.uploadLimits.idleTimeoutMs;
    const idle = setTimeout(
      () => fail(new ObscuraError('upload_timeout', `the upload sent nothing for ${idleMs} ms`, 408)),
      idleMs,
    );
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      clearTimeout(idle);
      req.unpipe();
      req.resume();
      // Ends the staging pipeline, which closes and deletes its file; reject once it has.
      file?.destroy();
      const settled = staging
        ? staging.then(
            (s) => ctx.blobs.discard(s),
            () => {},
          )
        : Promise.resolve();
      settled.then(() => reject(e));
    };
    req.on('data', () => idle.refresh());
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { files: 1, fields: 1, fieldSize: 1 << 20 } });
    } catch {
      clearTimeout(idle);
      reject(
        new ObscuraError(
          'upload_not_multipart',
          'upload must be multipart/form-data with a manifest field and a sealed file',
          415,
        ),
      );
      return;
    }
    bb.on('field', (name, value) => {
      if (name !== 'manifest')
        return fail(new ObscuraError('upload_unexpected_field', `unexpected form field ${name}`, 400));
      try {
        let json: unknown;
        try {
          json = JSON.parse(value);
        } catch {
          throw new ObscuraError('manifest_invalid', 'manifest is not valid JSON', 400);
        }
        const s = parseSignedManifest(json);
        assertManifestSignature(s);
        if (s.manifest.owner !== owner) {
          throw new ObscuraError(
            'not_dataset_owner',
            'only the owner named in the manifest may upload its dataset',
            403,
          );
        }
        ctx.workers.get(s.manifest.worker.id);
        signed = s;
      } catch (e) {
        fail(e);
      }
    });
    bb.on('file', (name, stream) => {
      if (name !== 'sealed' || !signed || failed) {
        stream.resume();
        return fail(
          new ObscuraError('upload_bad_order', 'send the manifest field before the sealed file part', 400),
        );
      }
      file = stream;
      staging = ctx.blobs.stage(
        stream,
        slot.maxBytes,
        slot.quotaBound ? () => storageQuotaExceeded(ctx.uploadLimits.bytesPerAccount) : undefined,
      );
      staging.catch(fail);
    });
    bb.on('error', () => fail(new ObscuraError('upload_malformed', 'multipart body is malformed', 400)));
    bb.on('close', () => {
      if (failed) return;
      if (!signed || !staging)
        return fail(
          new ObscuraError('upload_incomplete', 'upload needs a manifest field and a sealed file part', 400),
        );
      const s = signed;
      staging.then((staged) => {
        clearTimeout(idle);
        if (failed) ctx.blobs.discard(staged);
        else resolve({ signed: s, staged });
      }, fail);
    });
    // A client that goes away mid-body: 'close' before the request completed.
    req.on('close', () => {
      if (!req.complete) fail(new ObscuraError('upload_aborted', 'upload was aborted', 400));
    });
    req.pipe(bb);
  });
}

/** Host-side checks of a staged sealed file against its manifest, before the enclave sees it. */
function checkStaged(signed: SignedManifest, staged: StagedBlob): void {
  inspectHeader(staged.head);
  const { ciphertext } = signed.manifest;
  if (staged.bytes < ciphertext.bytes) {
    throw new ObscuraError(
      'sealed_file_truncated',
      `sealed file is truncated: ${staged.bytes} of ${ciphertext.bytes} bytes`,
      422,
    );
  }
  if (staged.bytes !== ciphertext.bytes || staged.sha256 !== ciphertext.sha256) {
    throw new ObscuraError(
      'sealed_file_corrupted',
      'sealed file does not match the SHA-256 in its manifest (corrupted or altered)',
      422,
    );
  }
}

/** Routes under /v1/datasets. */
export function datasetRoutes(ctx: HostContext): Router {
  const r = Router();
  r.post('/datasets', async (req, res) => {
    const owner = req.account as string;
    // A full disk refuses before the body is read (and again as it streams: BlobStore.stage).
    ctx.blobs.assertRoom();
    const slot = ctx.uploads.begin(owner, ctx.metadata.storedBytes(owner), ctx.limits.maxUploadBytes);
    let received: { signed: SignedManifest; staged: StagedBlob };
    try {
      received = await receiveUpload(req, ctx, owner, slot);
    } catch (e) {
      slot.release();
      throw e;
    }
    const { signed, staged } = received;
    let committed = false;
    try {
      failpoint('upload.staged');
      checkStaged(signed, staged);
      const id = manifestHash(signed.manifest).slice(0, 32);
      if (ctx.metadata.hasDataset(id))
        throw new ObscuraError('dataset_exists', `dataset ${id} was already uploaded`, 409);
      await ctx.workers.get(signed.manifest.worker.id).request('validate_dataset', {
        input: { datasetId: id, blobPath: staged.tmpPath, manifest: signed },
      });
      failpoint('upload.validated');
      // Other uploads of this owner may have landed meanwhile: the quota holds at commit.
      ctx.uploads.assertFits(ctx.metadata.storedBytes(owner), staged.bytes);
      await ctx.blobs.commit(staged);
      committed = true;
      // A crash from here to the record leaves a blob no dataset names: the next start removes it.
      failpoint('upload.committed');
      let record: ReturnType<typeof ctx.metadata.insertDataset>;
      try {
        record = ctx.metadata.insertDataset(id, signed);
      } catch (e) {
        // SQLite's own "disk full" is the same refusal as the blob's.
        throw (e as { code?: string }).code === 'SQLITE_FULL' ? storageFull() : e;
      }
      ctx.metrics.uploadedBytes.inc(staged.bytes);
      ctx.log(
        'info',
        `dataset ${id} uploaded by ${record.owner} (${record.rows} rows, ${staged.bytes} bytes sealed)`,
      );
      res.status(201).location(`/v1/datasets/${id}`).json(record);
    } catch (e) {
      await ctx.blobs.discard(staged);
      // Not acknowledged, so not kept, unless another dataset has the same sealed file.
      if (committed && !ctx.metadata.hasCiphertext(staged.sha256)) await ctx.blobs.remove(staged.sha256);
      throw e;
    } finally {
      slot.release();
    }
  });
  r.get('/datasets', (req, res) => {
    const { page, next } = readableDatasetsPage(ctx, req);
    res.json({ datasets: page, next });
  });
  r.get('/datasets/:id', (req, res) => {
    res.json(ctx.metadata.dataset(req.params.id));
  });
  return r;
}
