/**
 * Intel TDX evidence through Linux configfs-tsm (kernel ≥ 6.7,
 * Documentation/ABI/testing/configfs-tsm): mkdir a report entry under
 * /sys/kernel/config/tsm/report, check its `provider` reads `tdx_guest`, note its
 * `generation`, write the 64 bytes of report data to `inblob`, read the quote from
 * `outblob`, check `generation` moved by exactly our one write (otherwise another writer
 * raced us on the entry), and remove the entry. Each request uses its own entry, so
 * concurrent requests do not share state. Needs root (or write access to the directory).
 * TDX has no sealing key: the sealing root comes from the dstack KMS through a guest agent
 * given as `keyProvider`, or the worker refuses to start (see sealing-root.ts).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ObscuraError } from '../../common/errors.ts';
import { type QuoteEvidence, reportData } from '../evidence.ts';
import { type DeviceFs, deviceError, errnoCode, nodeDeviceFs } from './device-io.ts';
import type { HardwareIdentity } from './identity.ts';
import type { EvidenceProvider, EvidenceRequest } from './provider.ts';
import { checkQuote, selfQuoteReportData } from './quote-fields.ts';
import { dstackSealingRoot } from './dstack.ts';
import type { SealingRoot } from './sealing-root.ts';

/** Where configfs-tsm report entries are made by default. */
export const DEFAULT_TSM_REPORT_ROOT = '/sys/kernel/config/tsm/report';

/** The `provider` value of a TDX guest's configfs-tsm entries. */
export const TDX_TSM_PROVIDER = 'tdx_guest';

/** Options of the configfs-tsm provider. */
export interface TdxConfigfsOptions {
  /** The configfs-tsm report directory (default DEFAULT_TSM_REPORT_ROOT). */
  root?: string;
  /** File operations, replaceable by a fake of the kernel interface in tests. */
  fs?: DeviceFs;
  /** A dstack guest agent (socket or URL) whose KMS key is the sealing root; without it the worker has none. */
  keyProvider?: string;
}

const MISSING_HINT =
  'an Intel TDX guest on Linux 6.7 or later has it once configfs is mounted (mount -t configfs none /sys/kernel/config)';

/** The configfs-tsm provider for Intel TDX guests. */
export function tdxConfigfsProvider(opts: TdxConfigfsOptions = {}): EvidenceProvider {
  const root = opts.root ?? DEFAULT_TSM_REPORT_ROOT;
  const fs = opts.fs ?? nodeDeviceFs;
  const source = `configfs-tsm (${root})`;

  const read = (path: string, step: string) =>
    fs.readFile(path).catch((e: unknown) => Promise.reject(deviceError(e, path, step)));
  const generation = async (entry: string): Promise<number> => {
    const text = (await read(join(entry, 'generation'), 'reading the generation')).toString('utf8').trim();
    if (!/^\d+$/.test(text))
      throw new ObscuraError('tee_quote_failed', `${entry}/generation is not a number`, 502);
    return Number(text);
  };

  const quote = async (data: Buffer): Promise<Buffer> => {
    const entry = join(root, `obscura-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      await fs.mkdir(entry);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENXIO' || code === 'ENODEV') {
        throw new ObscuraError(
          'tee_device_missing',
          `configfs-tsm at ${root} has no TEE provider registered (${code}); is the tdx_guest driver loaded?`,
          503,
          undefined,
          { cause: e },
        );
      }
      throw deviceError(e, code === 'ENOENT' ? root : entry, 'creating a report entry', MISSING_HINT);
    }
    try {
      const provider = (await read(join(entry, 'provider'), 'reading the provider')).toString('utf8').trim();
      if (provider !== TDX_TSM_PROVIDER) {
        throw new ObscuraError(
          'tee_provider_mismatch',
          `configfs-tsm provider is "${provider}", not "${TDX_TSM_PROVIDER}": this guest is not an Intel TDX guest`,
          503,
        );
      }
      const before = await generation(entry);
      await fs
        .writeFile(join(entry, 'inblob'), data)
        .catch((e: unknown) => Promise.reject(deviceError(e, join(entry, 'inblob'), 'writing report data')));
      const out = await read(join(entry, 'outblob'), 'reading the quote');
      const after = await generation(entry);
      if (after !== before + 1) {
        throw new ObscuraError(
          'tee_quote_race',
          `configfs-tsm entry ${entry} changed under us (generation ${before} → ${after} for one write); retry`,
          503,
        );
      }
      if (out.length === 0) throw new ObscuraError('tee_quote_failed', `${entry}/outblob was empty`, 502);
      return out;
    } finally {
      // configfs removes an entry with its attributes by rmdir; best effort on the way out.
      await fs.rmdir(entry).catch(() => {});
    }
  };

  return {
    kind: 'tdx-configfs',
    tee: 'tdx',
    async evidence(req: EvidenceRequest): Promise<QuoteEvidence> {
      const expected = reportData(req.keys, req.nonce);
      const q = await quote(Buffer.from(expected, 'hex'));
      checkQuote(q, { tee: 'tdx', reportData: expected, source });
      return {
        tee: 'tdx',
        provider: 'tdx-configfs',
        quote: q.toString('hex'),
        nonce: req.nonce,
        keys: req.keys,
        workerId: req.workerId,
      };
    },
    async identify(): Promise<HardwareIdentity> {
      return checkQuote(await quote(selfQuoteReportData()), { tee: 'tdx', source }).identity;
    },
    async sealingRoot(): Promise<SealingRoot> {
      if (opts.keyProvider === undefined) {
        throw new ObscuraError(
          'tee_sealing_unavailable',
          'plain TDX has no sealing key, and a sealing root on the data directory would be readable by the host: give the worker a key provider it attests to (the dstack guest agent, --dstack-endpoint / OBSCURA_DSTACK_ENDPOINT, or run it with --tee dstack)',
          503,
        );
      }
      return dstackSealingRoot({ endpoint: opts.keyProvider });
    },
  };
}
