/** Sealing and uploading a dataset to a test host, and catching a refusal. */
import { readFileSync } from 'node:fs';
import { ApiClient } from '../../src/cli/client.ts';
import { sealDataset } from '../../src/cli/seal-dataset.ts';
import type { AccountKey } from '../../src/crypto/index.ts';
import type { SignedManifest } from '../../src/crypto/manifest.ts';
import type { WorkerRecord } from '../../src/contracts/worker-record.ts';
import { parseDatasetPolicy } from '../../src/privacy/index.ts';

/** Seal `file` to `worker` for `analysts` under the policy YAML, upload it as `owner`; returns the dataset id and manifest. */
export async function sealAndUpload(args: {
  url: string;
  file: string;
  out: string;
  owner: AccountKey;
  worker: WorkerRecord;
  analysts: string[];
  policy?: string;
}): Promise<{ dataset: string; signed: SignedManifest }> {
  const { signed } = await sealDataset({
    file: args.file,
    out: args.out,
    owner: args.owner,
    worker: args.worker,
    analysts: args.analysts,
    measurements: [args.worker.measurement],
    ...(args.policy ? { policy: parseDatasetPolicy(args.policy) } : {}),
  });
  const form = new FormData();
  form.append('manifest', JSON.stringify(signed));
  form.append('sealed', new Blob([readFileSync(args.out)]), 'sealed');
  const dataset = (
    (await new ApiClient(args.url, args.owner).postForm('/v1/datasets', form)) as { id: string }
  ).id;
  return { dataset, signed };
}

/** The error `p` rejects with; fails the test if it resolves. */
export async function refusal(
  p: Promise<unknown>,
): Promise<{ status: number; code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { status: number; code: string; message: string };
  }
  throw new Error('expected a refusal');
}
