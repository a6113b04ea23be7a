/**
 * Intel SGX evidence under Gramine through its /dev/attestation pseudo-filesystem
 * (Gramine documentation, "Attestation and Secret Provisioning", low-level interface):
 * check `attestation_type` reads `dcap`, write the 64 bytes of report data to
 * `user_report_data`, then read the DCAP quote from `quote`. The pseudo-files are
 * process-local, so the only race is between this process's own requests: they are
 * serialised here. The sealing root is `keys/_sgx_mrenclave` under the same root: the 16-byte
 * SGX sealing key Gramine derives with the MRENCLAVE policy (exposed since Gramine 1.5).
 */
import { join } from 'node:path';
import { ObscuraError } from '../../common/errors.ts';
import { type QuoteEvidence, reportData } from '../evidence.ts';
import { type DeviceFs, deviceError, nodeDeviceFs } from './device-io.ts';
import type { HardwareIdentity } from './identity.ts';
import type { EvidenceProvider, EvidenceRequest } from './provider.ts';
import { checkQuote, selfQuoteReportData } from './quote-fields.ts';
import type { SealingRoot } from './sealing-root.ts';

/** Length of an SGX sealing key (EGETKEY returns 128 bits). */
export const SGX_SEALING_KEY_BYTES = 16;

/** Gramine's attestation pseudo-filesystem. */
export const DEFAULT_GRAMINE_ATTESTATION_ROOT = '/dev/attestation';

/** Options of the Gramine provider. */
export interface SgxGramineOptions {
  /** The attestation pseudo-filesystem (default DEFAULT_GRAMINE_ATTESTATION_ROOT). */
  root?: string;
  /** File operations, replaceable in tests. */
  fs?: DeviceFs;
}

const MISSING_HINT =
  'the worker must run under gramine-sgx with sgx.remote_attestation = "dcap" in its manifest';

/** The Gramine /dev/attestation provider for Intel SGX enclaves. */
export function sgxGramineProvider(opts: SgxGramineOptions = {}): EvidenceProvider {
  const root = opts.root ?? DEFAULT_GRAMINE_ATTESTATION_ROOT;
  const fs = opts.fs ?? nodeDeviceFs;
  const source = `Gramine ${root}`;
  let queue: Promise<unknown> = Promise.resolve();

  const quoteNow = async (data: Buffer): Promise<Buffer> => {
    const typePath = join(root, 'attestation_type');
    const type = (
      await fs
        .readFile(typePath)
        .catch((e: unknown) =>
          Promise.reject(deviceError(e, typePath, 'reading the attestation type', MISSING_HINT)),
        )
    )
      .toString('utf8')
      .replace(/\0+$/, '')
      .trim();
    if (type !== 'dcap') {
      throw new ObscuraError(
        'tee_attestation_type_unsupported',
        `Gramine attestation type is "${type}", not "dcap": set sgx.remote_attestation = "dcap" in the manifest (EPID and none give no DCAP quote)`,
        503,
      );
    }
    const rdPath = join(root, 'user_report_data');
    await fs
      .writeFile(rdPath, data)
      .catch((e: unknown) => Promise.reject(deviceError(e, rdPath, 'writing report data', MISSING_HINT)));
    const quotePath = join(root, 'quote');
    const q = await fs
      .readFile(quotePath)
      .catch((e: unknown) => Promise.reject(deviceError(e, quotePath, 'reading the quote', MISSING_HINT)));
    if (q.length === 0)
      throw new ObscuraError(
        'tee_quote_failed',
        `${quotePath} was empty (is the AESM service reachable from the enclave?)`,
        502,
      );
    return q;
  };
  // One request at a time: user_report_data and quote are one shared slot per process.
  const quote = (data: Buffer): Promise<Buffer> => {
    const run = queue.then(() => quoteNow(data));
    queue = run.catch(() => {});
    return run;
  };

  return {
    kind: 'sgx-gramine',
    tee: 'sgx',
    async evidence(req: EvidenceRequest): Promise<QuoteEvidence> {
      const expected = reportData(req.keys, req.nonce);
      const q = await quote(Buffer.from(expected, 'hex'));
      checkQuote(q, { tee: 'sgx', reportData: expected, source });
      return {
        tee: 'sgx',
        provider: 'sgx-gramine',
        quote: q.toString('hex'),
        nonce: req.nonce,
        keys: req.keys,
        workerId: req.workerId,
      };
    },
    async identify(): Promise<HardwareIdentity> {
      return checkQuote(await quote(selfQuoteReportData()), { tee: 'sgx', source }).identity;
    },
    async sealingRoot(): Promise<SealingRoot> {
      const keyPath = join(root, 'keys', '_sgx_mrenclave');
      const key = await fs
        .readFile(keyPath)
        .catch((e: unknown) =>
          Promise.reject(
            deviceError(
              e,
              keyPath,
              'reading the MRENCLAVE sealing key',
              'the worker must run under gramine-sgx 1.5 or later, which exposes the SGX sealing keys',
            ),
          ),
        );
      if (key.length !== SGX_SEALING_KEY_BYTES) {
        key.fill(0);
        throw new ObscuraError(
          'tee_sealing_key_invalid',
          `${keyPath} holds ${key.length} bytes, not the ${SGX_SEALING_KEY_BYTES} of an SGX sealing key`,
          502,
        );
      }
      return { source: 'sgx-mrenclave', secret: key };
    },
  };
}
