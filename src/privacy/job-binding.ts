/**
 * The analyst's binding of one dataset in a job request (job-request.ts), made from the
 * dataset record an API host answered with. Shared by the client (`obscura run`) and the
 * dashboard page, which may not import the client.
 */
import { ObscuraError } from '../common/errors.ts';
import { assertManifestSignature, manifestHash, type SignedManifest } from '../crypto/manifest.ts';
import type { JobRequestBinding } from './job-request.ts';

/**
 * The binding of dataset `id` from the host's record of it. The request binds what the owner
 * signed, so the owner's signature and the id (the manifest hash's prefix) are checked
 * rather than the host's copy trusted; throws dataset_mismatch (502) or
 * manifest_signature_invalid.
 */
export function bindingFromRecord(
  id: string,
  record: { id: string; manifest: SignedManifest },
): JobRequestBinding {
  assertManifestSignature(record.manifest);
  const manifest = manifestHash(record.manifest.manifest);
  if (record.id !== id || manifest.slice(0, 32) !== id)
    throw new ObscuraError(
      'dataset_mismatch',
      `the API answered for dataset ${id} with another dataset`,
      502,
    );
  return { dataset: id, manifest };
}
