/**
 * Intel TDX evidence inside a Phala dstack CVM, from its guest agent through
 * `@phala/dstack-sdk`: `DstackClient.getQuote(reportData)` (RPC `GetQuote`, dstack OS ≥ 0.5,
 * socket /var/run/dstack.sock) or, for the legacy tappd agent (dstack 0.3, socket
 * /var/run/tappd.sock), `TappdClient.tdxQuote(reportData, 'raw')` (RPC `Tappd.TdxQuote`).
 * Both put 64 bytes given as bytes into the quote unchanged. Two traps this file avoids: the
 * SDK takes a *string* argument as UTF-8 text, not hex, so the report data is passed as a
 * Buffer; and tappd hashes report data with a prefix unless the algorithm is `raw`. The
 * agent's response is checked: its quote must be a TDX quote carrying exactly our report
 * data. The event log comes back with it, for RTMR3 replay by the verifier.
 * The simulator (`DSTACK_SIMULATOR_ENDPOINT`) is an ordinary endpoint here.
 * The sealing root is a key the dstack KMS derives for this app and releases only to an
 * attested CVM: `DstackClient.getKey(path, purpose)` (RPC `GetKey`), or on tappd
 * `Tappd.DeriveKey(path)`, whose private key (DER) is taken whole.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import { ObscuraError, errorMessage } from '../../common/errors.ts';
import { type QuoteEvidence, reportData } from '../evidence.ts';
import type { HardwareIdentity } from './identity.ts';
import type { EvidenceProvider, EvidenceRequest } from './provider.ts';
import { checkQuote, selfQuoteReportData } from './quote-fields.ts';
import { DSTACK_SEALING_KEY_PATH, type SealingRoot } from './sealing-root.ts';

/** The dstack guest agent's sockets, in the order the SDK looks for them. */
export const DSTACK_SOCKETS = [
  '/var/run/dstack.sock',
  '/run/dstack.sock',
  '/var/run/dstack/dstack.sock',
  '/run/dstack/dstack.sock',
] as const;

/** The legacy tappd agent's sockets, in the order the SDK looks for them. */
export const TAPPD_SOCKETS = [
  '/var/run/tappd.sock',
  '/run/tappd.sock',
  '/var/run/dstack/tappd.sock',
  '/run/dstack/tappd.sock',
] as const;

/** Which agent API an endpoint speaks. */
export const DstackApiSchema = z.enum(['dstack', 'tappd']);
export type DstackApi = z.infer<typeof DstackApiSchema>;

/** Options of the dstack provider. */
export interface DstackOptions {
  /** A unix socket path or an http(s) URL (a simulator); default: the first agent socket that exists. */
  endpoint?: string;
  /** The agent's API; default `tappd` for a socket named tappd.sock, else `dstack`. */
  api?: DstackApi;
  /** Milliseconds to wait for a quote; the SDK's own limit (30 s) applies too. */
  timeoutMs?: number;
}

const QuoteResponseSchema = z.object({
  quote: z.string().regex(/^(0x)?([0-9a-fA-F]{2})+$/, 'quote must be hex'),
  event_log: z.string().optional(),
});

interface Agent {
  endpoint: string;
  api: DstackApi;
  getQuote(data: Buffer): Promise<unknown>;
  /** The KMS-derived key at DSTACK_SEALING_KEY_PATH, as bytes. */
  getKey(): Promise<Uint8Array>;
}

/** A KMS key shorter than this is not a key (GetKey returns 32 bytes; DeriveKey a DER key). */
const MIN_KMS_KEY_BYTES = 32;

function resolveEndpoint(opts: DstackOptions): { endpoint: string; api: DstackApi } {
  if (opts.endpoint !== undefined) {
    const isUrl = /^https?:\/\//.test(opts.endpoint);
    if (!isUrl && !existsSync(opts.endpoint)) {
      throw new ObscuraError(
        'tee_device_missing',
        `dstack guest agent socket ${opts.endpoint} does not exist; mount it into the container (volumes: - ${opts.endpoint}:${opts.endpoint})`,
        503,
      );
    }
    return {
      endpoint: opts.endpoint,
      api: opts.api ?? (!isUrl && basename(opts.endpoint) === 'tappd.sock' ? 'tappd' : 'dstack'),
    };
  }
  const candidates: { endpoint: string; api: DstackApi }[] = [
    ...(opts.api !== 'tappd' ? DSTACK_SOCKETS.map((endpoint) => ({ endpoint, api: 'dstack' as const })) : []),
    ...(opts.api !== 'dstack' ? TAPPD_SOCKETS.map((endpoint) => ({ endpoint, api: 'tappd' as const })) : []),
  ];
  const found = candidates.find((c) => existsSync(c.endpoint));
  if (!found) {
    throw new ObscuraError(
      'tee_device_missing',
      `no dstack guest agent socket (looked for ${candidates.map((c) => c.endpoint).join(', ')}); mount /var/run/dstack.sock into the container, or set OBSCURA_DSTACK_ENDPOINT`,
      503,
    );
  }
  return found;
}

async function connect(opts: DstackOptions): Promise<Agent> {
  const { endpoint, api } = resolveEndpoint(opts);
  const sdk = await import('@phala/dstack-sdk');
  if (api === 'tappd') {
    const client = new sdk.TappdClient(endpoint);
    return {
      endpoint,
      api,
      getQuote: (data) => client.tdxQuote(data, 'raw'),
      getKey: async () =>
        (await client.deriveKey(DSTACK_SEALING_KEY_PATH, 'obscura-enclave-state')).asUint8Array(),
    };
  }
  const client = new sdk.DstackClient(endpoint);
  return {
    endpoint,
    api,
    getQuote: (data) => client.getQuote(data),
    getKey: async () => (await client.getKey(DSTACK_SEALING_KEY_PATH, 'obscura-enclave-state')).key,
  };
}

/** The sealing root from a connected agent; throws 'tee_sealing_unavailable' naming the agent. */
async function kmsKey(a: Agent): Promise<SealingRoot> {
  const source = `dstack guest agent (${a.endpoint})`;
  let key: Uint8Array;
  try {
    key = await a.getKey();
  } catch (e) {
    throw new ObscuraError(
      'tee_sealing_unavailable',
      `${source} gave no sealing key from the dstack KMS: ${errorMessage(e)}`,
      503,
      undefined,
      { cause: e },
    );
  }
  if (!(key instanceof Uint8Array) || key.length < MIN_KMS_KEY_BYTES) {
    throw new ObscuraError(
      'tee_sealing_key_invalid',
      `${source} answered GetKey with ${key instanceof Uint8Array ? key.length : 0} bytes, not a key`,
      502,
    );
  }
  return { source: 'dstack-kms', secret: Buffer.from(key) };
}

/**
 * The dstack KMS sealing root through the guest agent at `opts.endpoint` (or the default
 * sockets): for a worker whose evidence comes from elsewhere (plain TDX inside a dstack CVM).
 */
export async function dstackSealingRoot(opts: DstackOptions = {}): Promise<SealingRoot> {
  return kmsKey(await connect(opts));
}

/** The dstack guest agent provider for Intel TDX CVMs. */
export function dstackProvider(opts: DstackOptions = {}): EvidenceProvider {
  let agent: Promise<Agent> | undefined;
  const connected = (): Promise<Agent> =>
    // Connect once; a failed connect is retried by the next request.
    (agent ??= connect(opts).catch((e: unknown) => {
      agent = undefined;
      throw e;
    }));

  const quote = async (data: Buffer): Promise<{ quote: Buffer; eventLog?: string; source: string }> => {
    const a = await connected();
    const source = `dstack guest agent (${a.endpoint})`;
    let raw: unknown;
    let timer: NodeJS.Timeout | undefined;
    try {
      const limit = opts.timeoutMs ?? 30_000;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no quote within ${limit} ms`)), limit);
      });
      raw = await Promise.race([a.getQuote(data), timeout]);
    } catch (e) {
      throw new ObscuraError(
        'tee_quote_failed',
        `${source} could not make a quote: ${errorMessage(e)}`,
        502,
        undefined,
        { cause: e },
      );
    } finally {
      clearTimeout(timer);
    }
    const parsed = QuoteResponseSchema.safeParse(raw);
    if (!parsed.success)
      throw new ObscuraError('tee_quote_malformed', `${source} answered without a hex quote`, 502);
    const eventLog = parsed.data.event_log;
    return {
      quote: Buffer.from(parsed.data.quote.replace(/^0x/, ''), 'hex'),
      source,
      ...(eventLog ? { eventLog } : {}),
    };
  };

  return {
    kind: 'dstack',
    tee: 'tdx',
    async evidence(req: EvidenceRequest): Promise<QuoteEvidence> {
      const expected = reportData(req.keys, req.nonce);
      const q = await quote(Buffer.from(expected, 'hex'));
      checkQuote(q.quote, { tee: 'tdx', reportData: expected, source: q.source });
      return {
        tee: 'tdx',
        provider: 'dstack',
        quote: q.quote.toString('hex'),
        nonce: req.nonce,
        keys: req.keys,
        workerId: req.workerId,
        ...(q.eventLog ? { eventLog: q.eventLog } : {}),
      };
    },
    async identify(): Promise<HardwareIdentity> {
      const q = await quote(selfQuoteReportData());
      return checkQuote(q.quote, { tee: 'tdx', source: q.source }).identity;
    },
    async sealingRoot(): Promise<SealingRoot> {
      return kmsKey(await connected());
    },
  };
}
