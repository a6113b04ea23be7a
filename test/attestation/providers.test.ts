/**
 * Evidence providers against recorded responses of the real interfaces: the Intel DCAP
 * quotes in test/fixtures/dcap/ served by small fakes
 * that behave like each interface — a configfs-tsm tree whose entries get their attributes
 * on mkdir and whose outblob answers the inblob written (a fake of the kernel, in front of a
 * temp dir), a /dev/attestation directory pre-populated the way Gramine shows it, and a
 * dstack guest agent on a unix socket (and on HTTP, as the simulator) replaying what the
 * agent returns. A device fills the report data it was given into the quote; the fakes do
 * the same by writing those 64 bytes into the recorded quote at the report-data offset (so
 * the quote's signature no longer verifies — providers never verify, verifiers do).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysDigest, QuoteEvidenceSchema, SimulatedEvidenceSchema } from '../../src/attestation/evidence.ts';
import {
  createProvider,
  type DeviceFs,
  DSTACK_SEALING_KEY_PATH,
  dstackProvider,
  enclaveMeasurement,
  nodeDeviceFs,
  providerConfig,
  readQuoteFields,
  sgxGramineProvider,
  tdxConfigfsProvider,
  teeEnv,
} from '../../src/attestation/providers/index.ts';
import { generateEd25519 } from '../../src/common/ed25519.ts';
import { generateIdentity } from '../../src/crypto/index.ts';

import { FIXTURES } from './dcap-fixtures.ts';
const fixture = (name: string) => readFileSync(join(FIXTURES, name));

// Where each quote layout keeps its 64 bytes of report data.
const TDX_V4_REPORT_DATA = 568;
const SGX_V3_REPORT_DATA = 368;

const work = mkdtempSync(join(tmpdir(), 'obscura-providers-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (name: string) => join(work, `${name}-${++dirs}`);

const keys = { recipient: generateIdentity().recipient, signingKey: generateEd25519().publicKey };
const nonce = () => randomBytes(32).toString('hex');
const request = (n: string) => ({ workerId: 'worker-1', measurement: 'c'.repeat(64), keys, nonce: n });
const expectedReportData = (n: string) => Buffer.from(`${keysDigest(keys)}${n}`, 'hex');

/** The recorded quote with `data` in its report-data field: what the device returns for that report data. */
function withReportData(quote: Buffer, at: number, data: Uint8Array): Buffer {
  const q = Buffer.from(quote);
  Buffer.from(data).copy(q, at);
  return q;
}

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code} (fake)`), { code });
}

describe('quote fields', () => {
  it('reads the registers and report data the fixtures README lists', () => {
    const tdx = readQuoteFields(fixture('tdx_quote'), 'fixture');
    expect(tdx.identity).toMatchObject({ tee: 'tdx', mrtd: expect.stringMatching(/^91eb2b44d141d4ec/) });
    expect(tdx.reportData).toMatch(/^9a9d48e7f6799642/);
    const sgx = readQuoteFields(fixture('sgx_quote'), 'fixture');
    expect(sgx.identity).toEqual({
      tee: 'sgx',
      mrenclave: '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb',
      mrsigner: '815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6',
    });
    expect(Buffer.from(sgx.reportData, 'hex').subarray(0, 13).toString()).toBe('Hello, world!');
    const tappd = readQuoteFields(
      Buffer.from(fixture('quote-from-tappd.hex').toString().trim(), 'hex'),
      'fixture',
    );
    expect(tappd.identity).toMatchObject({
      mrtd: expect.stringMatching(/^c68518a0/),
      rtmr3: expect.stringMatching(/^a2d25bc8/),
    });
  });

  it('refuses truncated and unknown quotes', () => {
    expect(() => readQuoteFields(fixture('tdx_quote').subarray(0, 700), 'x')).toThrow(
      expect.objectContaining({ code: 'tee_quote_malformed' }),
    );
    expect(() => readQuoteFields(Buffer.alloc(1000), 'x')).toThrow(
      expect.objectContaining({ code: 'tee_quote_malformed' }),
    );
  });
});

// ---------- TDX through configfs-tsm ----------

interface FakeTsm {
  fs: DeviceFs;
  inblobs: Buffer[];
}

/**
 * A fake of the kernel's configfs-tsm report interface over a temp dir: mkdir makes an entry
 * with its attributes (provider, generation, inblob, outblob), a write to inblob bumps
 * generation and makes outblob the recorded quote carrying the inblob, rmdir removes the
 * entry with its attributes. Options break it the ways the real one can break.
 */
function fakeTsm(
  opts: {
    provider?: string;
    quote?: Buffer;
    fill?: boolean;
    extraGenerations?: number;
    mkdirError?: string;
    outblobError?: string;
  } = {},
): FakeTsm {
  const inblobs: Buffer[] = [];
  const quote = opts.quote ?? fixture('tdx_quote');
  const fs: DeviceFs = {
    async mkdir(path) {
      if (opts.mkdirError) throw errno(opts.mkdirError);
      await nodeDeviceFs.mkdir(path);
      writeFileSync(join(path, 'provider'), `${opts.provider ?? 'tdx_guest'}\n`);
      writeFileSync(join(path, 'generation'), '0\n');
      writeFileSync(join(path, 'inblob'), '');
      writeFileSync(join(path, 'outblob'), '');
    },
    async rmdir(path) {
      rmSync(path, { recursive: true });
    },
    async readFile(path) {
      if (basename(path) === 'outblob' && opts.outblobError) throw errno(opts.outblobError);
      return nodeDeviceFs.readFile(path);
    },
    async writeFile(path, data) {
      await nodeDeviceFs.writeFile(path, data);
      if (basename(path) !== 'inblob') return;
      const entry = dirname(path);
      inblobs.push(Buffer.from(data));
      const generation = Number(readFileSync(join(entry, 'generation'), 'utf8'));
      writeFileSync(join(entry, 'generation'), `${generation + 1 + (opts.extraGenerations ?? 0)}\n`);
      writeFileSync(
        join(entry, 'outblob'),
        opts.fill === false ? quote : withReportData(quote, TDX_V4_REPORT_DATA, data),
      );
    },
  };
  return { fs, inblobs };
}

function tsmRoot(): string {
  const root = freshDir('tsm-report');
  mkdirSync(root, { recursive: true });
  return root;
}

describe('tdx-configfs provider', () => {
  it('writes exactly keysDigest ‖ nonce to inblob and returns the outblob quote as evidence', async () => {
    const root = tsmRoot();
    const kernel = fakeTsm();
    const n = nonce();
    const evidence = await tdxConfigfsProvider({ root, fs: kernel.fs }).evidence(request(n));
    expect(kernel.inblobs).toHaveLength(1);
    expect(kernel.inblobs[0]).toEqual(expectedReportData(n));
    expect(kernel.inblobs[0]).toHaveLength(64);
    const parsed = QuoteEvidenceSchema.parse(evidence);
    expect(parsed).toMatchObject({
      tee: 'tdx',
      provider: 'tdx-configfs',
      nonce: n,
      keys,
      workerId: 'worker-1',
    });
    expect(readQuoteFields(Buffer.from(parsed.quote, 'hex'), 'test').reportData).toBe(
      `${keysDigest(keys)}${n}`,
    );
    expect(readdirSync(root)).toEqual([]); // the entry was removed
  });

  it('reads MRTD and RTMRs from a quote of itself', async () => {
    const root = tsmRoot();
    const identity = await tdxConfigfsProvider({ root, fs: fakeTsm().fs }).identify();
    expect(identity).toMatchObject({
      tee: 'tdx',
      mrtd: expect.stringMatching(/^91eb2b44d141d4ec/),
      rtmr0: expect.stringMatching(/^44c0197b/),
    });
    // TDX workers keep the code measurement (MRTD is 48 bytes and measures only the TD firmware).
    expect(enclaveMeasurement(identity, 'a'.repeat(64))).toEqual({
      measurement: 'a'.repeat(64),
      source: 'code',
    });
  });

  it('fails with tee_device_missing naming the report directory when configfs-tsm is absent', async () => {
    const root = join(work, 'no-such', 'tsm', 'report');
    await expect(tdxConfigfsProvider({ root }).evidence(request(nonce()))).rejects.toMatchObject({
      code: 'tee_device_missing',
      message: expect.stringContaining(root),
    });
  });

  it('fails with tee_device_missing when no TSM provider is registered (mkdir gives ENXIO)', async () => {
    const root = tsmRoot();
    await expect(
      tdxConfigfsProvider({ root, fs: fakeTsm({ mkdirError: 'ENXIO' }).fs }).evidence(request(nonce())),
    ).rejects.toMatchObject({
      code: 'tee_device_missing',
      message: expect.stringMatching(/no TEE provider registered/),
    });
  });

  it('fails with tee_device_missing naming the attribute on a directory that is not configfs', async () => {
    const root = tsmRoot(); // plain directory: mkdir makes no attributes
    const err = await tdxConfigfsProvider({ root })
      .evidence(request(nonce()))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'tee_device_missing',
      message: expect.stringMatching(/\/provider does not exist/),
    });
    expect(readdirSync(root)).toEqual([]);
  });

  it('fails with tee_device_denied without permission', async () => {
    const root = tsmRoot();
    await expect(
      tdxConfigfsProvider({ root, fs: fakeTsm({ mkdirError: 'EACCES' }).fs }).evidence(request(nonce())),
    ).rejects.toMatchObject({
      code: 'tee_device_denied',
    });
  });

  it('fails with tee_provider_mismatch on a guest whose provider is not tdx_guest', async () => {
    const root = tsmRoot();
    const err = await tdxConfigfsProvider({ root, fs: fakeTsm({ provider: 'sev_guest' }).fs })
      .evidence(request(nonce()))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'tee_provider_mismatch',
      message: expect.stringContaining('sev_guest'),
    });
    expect(readdirSync(root)).toEqual([]);
  });

  it('fails with tee_quote_race when the generation moved by more than our write', async () => {
    const root = tsmRoot();
    await expect(
      tdxConfigfsProvider({ root, fs: fakeTsm({ extraGenerations: 1 }).fs }).evidence(request(nonce())),
    ).rejects.toMatchObject({
      code: 'tee_quote_race',
    });
  });

  it('fails with tee_quote_failed when reading outblob fails', async () => {
    const root = tsmRoot();
    await expect(
      tdxConfigfsProvider({ root, fs: fakeTsm({ outblobError: 'EIO' }).fs }).evidence(request(nonce())),
    ).rejects.toMatchObject({
      code: 'tee_quote_failed',
      message: expect.stringContaining('EIO'),
    });
    expect(readdirSync(root)).toEqual([]);
  });

  it('fails with tee_report_data_mismatch when the quote does not carry the report data written', async () => {
    const root = tsmRoot();
    await expect(
      tdxConfigfsProvider({ root, fs: fakeTsm({ fill: false }).fs }).evidence(request(nonce())),
    ).rejects.toMatchObject({
      code: 'tee_report_data_mismatch',
    });
  });

  it('fails with tee_quote_malformed when outblob is not a TDX quote', async () => {
    const root = tsmRoot();
    await expect(
      tdxConfigfsProvider({ root, fs: fakeTsm({ quote: fixture('sgx_quote') }).fs }).evidence(
        request(nonce()),
      ),
    ).rejects.toMatchObject({
      code: 'tee_quote_malformed',
    });
  });
});

// ---------- SGX under Gramine ----------

/** A /dev/attestation directory as Gramine shows it, its quote file holding `quote`. */
function gramineDir(
  opts: { type?: string; quote?: Buffer; noReportData?: boolean; sealingKey?: Buffer | null } = {},
): string {
  const root = freshDir('attestation');
  mkdirSync(join(root, 'keys'), { recursive: true });
  // Gramine shows the SGX sealing keys as 16-byte files under keys/.
  if (opts.sealingKey !== null)
    writeFileSync(join(root, 'keys', '_sgx_mrenclave'), opts.sealingKey ?? randomBytes(16));
  writeFileSync(join(root, 'attestation_type'), opts.type ?? 'dcap');
  if (!opts.noReportData) writeFileSync(join(root, 'user_report_data'), Buffer.alloc(64));
  writeFileSync(join(root, 'quote'), opts.quote ?? fixture('sgx_quote'));
  return root;
}

describe('sgx-gramine provider', () => {
  it('writes exactly keysDigest ‖ nonce to user_report_data and returns the quote as evidence', async () => {
    const n = nonce();
    const root = gramineDir({
      quote: withReportData(fixture('sgx_quote'), SGX_V3_REPORT_DATA, expectedReportData(n)),
    });
    const evidence = await sgxGramineProvider({ root }).evidence(request(n));
    expect(readFileSync(join(root, 'user_report_data'))).toEqual(expectedReportData(n));
    const parsed = QuoteEvidenceSchema.parse(evidence);
    expect(parsed).toMatchObject({
      tee: 'sgx',
      provider: 'sgx-gramine',
      nonce: n,
      keys,
      workerId: 'worker-1',
    });
    expect(parsed.eventLog).toBeUndefined();
  });

  it('takes MRENCLAVE from a quote of itself as the measurement', async () => {
    const identity = await sgxGramineProvider({ root: gramineDir() }).identify();
    expect(identity).toEqual({
      tee: 'sgx',
      mrenclave: '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb',
      mrsigner: '815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6',
    });
    expect(enclaveMeasurement(identity, 'a'.repeat(64))).toEqual({
      measurement: '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb',
      source: 'hardware',
    });
  });

  it('serialises concurrent requests (user_report_data and quote are one slot per process)', async () => {
    const n = nonce();
    const root = gramineDir({
      quote: withReportData(fixture('sgx_quote'), SGX_V3_REPORT_DATA, expectedReportData(n)),
    });
    const ops: string[] = [];
    const fs: DeviceFs = {
      ...nodeDeviceFs,
      readFile: async (p) => {
        ops.push(`read ${basename(p)}`);
        await new Promise((r) => setTimeout(r, 5));
        return nodeDeviceFs.readFile(p);
      },
      writeFile: async (p, d) => {
        ops.push(`write ${basename(p)}`);
        await new Promise((r) => setTimeout(r, 5));
        return nodeDeviceFs.writeFile(p, d);
      },
    };
    const provider = sgxGramineProvider({ root, fs });
    await Promise.all([provider.evidence(request(n)), provider.evidence(request(n))]);
    const one = ['read attestation_type', 'write user_report_data', 'read quote'];
    expect(ops).toEqual([...one, ...one]);
  });

  it('fails with tee_device_missing naming the path outside Gramine', async () => {
    const root = join(work, 'no-gramine', 'attestation');
    await expect(sgxGramineProvider({ root }).evidence(request(nonce()))).rejects.toMatchObject({
      code: 'tee_device_missing',
      message: expect.stringContaining(join(root, 'attestation_type')),
    });
    await expect(
      sgxGramineProvider({ root: gramineDir({ noReportData: true }) }).evidence(request(nonce())),
    ).rejects.toMatchObject({
      code: 'tee_device_missing',
      message: expect.stringContaining('user_report_data'),
    });
  });

  it('fails with tee_attestation_type_unsupported unless the attestation type is dcap', async () => {
    for (const type of ['none', 'epid']) {
      await expect(
        sgxGramineProvider({ root: gramineDir({ type }) }).evidence(request(nonce())),
      ).rejects.toMatchObject({
        code: 'tee_attestation_type_unsupported',
        message: expect.stringContaining(`"${type}"`),
      });
    }
  });

  it('fails with tee_report_data_mismatch on a quote for other report data', async () => {
    await expect(sgxGramineProvider({ root: gramineDir() }).evidence(request(nonce()))).rejects.toMatchObject(
      { code: 'tee_report_data_mismatch' },
    );
  });

  it('takes its sealing root from keys/_sgx_mrenclave, 16 bytes, refusing anything else', async () => {
    const key = randomBytes(16);
    const root = await sgxGramineProvider({ root: gramineDir({ sealingKey: key }) }).sealingRoot();
    expect(root).toEqual({ source: 'sgx-mrenclave', secret: key });
    const missing = gramineDir({ sealingKey: null });
    await expect(sgxGramineProvider({ root: missing }).sealingRoot()).rejects.toMatchObject({
      code: 'tee_device_missing',
      message: expect.stringContaining(join(missing, 'keys', '_sgx_mrenclave')),
    });
    for (const bad of [Buffer.alloc(0), randomBytes(15), randomBytes(32)]) {
      await expect(
        sgxGramineProvider({ root: gramineDir({ sealingKey: bad }) }).sealingRoot(),
      ).rejects.toMatchObject({
        code: 'tee_sealing_key_invalid',
        message: expect.stringContaining(`holds ${bad.length} bytes`),
      });
    }
  });

  it('fails with tee_quote_failed on an empty quote and tee_quote_malformed on a TDX quote', async () => {
    await expect(
      sgxGramineProvider({ root: gramineDir({ quote: Buffer.alloc(0) }) }).evidence(request(nonce())),
    ).rejects.toMatchObject({ code: 'tee_quote_failed' });
    await expect(
      sgxGramineProvider({ root: gramineDir({ quote: fixture('tdx_quote') }) }).evidence(request(nonce())),
    ).rejects.toMatchObject({ code: 'tee_quote_malformed' });
  });
});

// ---------- TDX through the dstack guest agent ----------

type AgentMode = 'fill' | 'recorded' | 'error' | 'not-hex' | 'not-json' | 'short-key';

/** A synthetic event log in the shape the agent returns (a JSON array as text); not a recording. */
const EVENT_LOG = JSON.stringify([
  {
    imr: 3,
    event_type: 134217729,
    digest: 'ab'.repeat(48),
    event: 'compose-hash',
    event_payload: 'cd'.repeat(32),
  },
]);

/** A fake dstack guest agent replaying the recorded quote (quote-from-tappd.hex) over HTTP. */
class FakeAgent {
  mode: AgentMode = 'fill';
  readonly requests: { path: string; body: Record<string, unknown> }[] = [];
  private readonly server: Server;
  private readonly quote = Buffer.from(
    readFileSync(join(FIXTURES, 'quote-from-tappd.hex'), 'utf8').trim(),
    'hex',
  );

  constructor() {
    this.server = createServer((req, res) => {
      this.answer(req).then((text) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
    });
  }

  listenTcp(): Promise<void> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
  }

  listenSocket(path: string): Promise<void> {
    return new Promise((resolve) => this.server.listen(path, () => resolve()));
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The app's KMS root in this fake: a key the agent derives per path, as the dstack KMS does. */
  readonly appSecret = randomBytes(32);

  /** The key the KMS derives for `path`. */
  derived(path: string): Buffer {
    return createHash('sha256').update(this.appSecret).update(path).digest();
  }

  /** GetKey (dstack) answers a hex key; Tappd.DeriveKey a PKCS#8 PEM private key (its DER is what the worker takes). */
  private key(url: string, body: Record<string, unknown>): string {
    const path = String(body['path'] ?? '');
    if (this.mode === 'error') return JSON.stringify({ error: 'KMS unreachable' });
    if (url === '/GetKey') {
      const key = this.mode === 'short-key' ? this.derived(path).subarray(0, 8) : this.derived(path);
      return JSON.stringify({ key: key.toString('hex'), signature_chain: ['aa'.repeat(65)] });
    }
    const pem = `-----BEGIN PRIVATE KEY-----\n${Buffer.concat([Buffer.from('3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420', 'hex'), this.derived(path)]).toString('base64')}\n-----END PRIVATE KEY-----\n`;
    return JSON.stringify({ key: pem, certificate_chain: [] });
  }

  private async answer(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    this.requests.push({ path: req.url ?? '', body });
    if (req.url === '/GetKey' || req.url === '/prpc/Tappd.DeriveKey') return this.key(req.url, body);
    const rd = Buffer.from(String(body['report_data'] ?? ''), 'hex');
    const quote = this.mode === 'recorded' ? this.quote : withReportData(this.quote, TDX_V4_REPORT_DATA, rd);
    switch (this.mode) {
      case 'error':
        return JSON.stringify({ error: 'failed to get quote: quote service unavailable' });
      case 'not-hex':
        return JSON.stringify({ quote: 'not hex', event_log: '[]' });
      case 'not-json':
        return 'internal error';
      default:
        return req.url === '/prpc/Tappd.TdxQuote'
          ? JSON.stringify({
              quote: quote.toString('hex'),
              event_log: EVENT_LOG,
              hash_algorithm: body['hash_algorithm'],
              prefix: '',
            })
          : JSON.stringify({
              quote: quote.toString('hex'),
              event_log: EVENT_LOG,
              report_data: rd.toString('hex'),
              vm_config: '{}',
            });
    }
  }
}

describe('dstack provider', () => {
  let agent: FakeAgent;
  let tappd: FakeAgent;
  let http: FakeAgent;
  let socket: string;
  let tappdSocket: string;

  beforeAll(async () => {
    const dir = freshDir('dstack');
    mkdirSync(dir, { recursive: true });
    socket = join(dir, 'dstack.sock');
    tappdSocket = join(dir, 'tappd.sock');
    agent = new FakeAgent();
    tappd = new FakeAgent();
    http = new FakeAgent();
    await Promise.all([agent.listenSocket(socket), tappd.listenSocket(tappdSocket), http.listenTcp()]);
  });
  afterAll(async () => {
    await Promise.all([agent.close(), tappd.close(), http.close()]);
  });

  it('asks GetQuote over the socket with the raw 64 bytes and returns the quote and event log', async () => {
    agent.mode = 'fill';
    const n = nonce();
    const evidence = await dstackProvider({ endpoint: socket }).evidence(request(n));
    const last = agent.requests.at(-1);
    expect(last?.path).toBe('/GetQuote');
    // Raw, not hashed and not text-encoded: exactly the 64 bytes as 128 hex characters.
    expect(last?.body).toEqual({ report_data: expectedReportData(n).toString('hex') });
    const parsed = QuoteEvidenceSchema.parse(evidence);
    expect(parsed).toMatchObject({
      tee: 'tdx',
      provider: 'dstack',
      nonce: n,
      keys,
      workerId: 'worker-1',
      eventLog: EVENT_LOG,
    });
    expect(readQuoteFields(Buffer.from(parsed.quote, 'hex'), 't').reportData).toBe(`${keysDigest(keys)}${n}`);
  });

  it('speaks the legacy tappd API (Tappd.TdxQuote, hash algorithm raw) on tappd.sock', async () => {
    const n = nonce();
    const evidence = await dstackProvider({ endpoint: tappdSocket }).evidence(request(n));
    expect(tappd.requests.at(-1)).toEqual({
      path: '/prpc/Tappd.TdxQuote',
      body: { report_data: expectedReportData(n).toString('hex'), hash_algorithm: 'raw' },
    });
    expect(QuoteEvidenceSchema.parse(evidence).provider).toBe('dstack');
  });

  it('uses an http endpoint (the dstack simulator) the same way', async () => {
    const n = nonce();
    const evidence = await dstackProvider({ endpoint: `http://127.0.0.1:${http.port}` }).evidence(request(n));
    expect(http.requests.at(-1)?.body).toEqual({ report_data: expectedReportData(n).toString('hex') });
    expect(QuoteEvidenceSchema.safeParse(evidence).success).toBe(true);
  });

  it('reads MRTD and RTMR3 from a quote of itself', async () => {
    agent.mode = 'recorded';
    const identity = await dstackProvider({ endpoint: socket }).identify();
    expect(identity).toMatchObject({
      tee: 'tdx',
      mrtd: expect.stringMatching(/^c68518a0/),
      rtmr3: expect.stringMatching(/^a2d25bc8/),
    });
  });

  it('takes its sealing root from the KMS through GetKey (dstack) or DeriveKey (tappd), and says so', async () => {
    agent.mode = 'fill';
    const root = await dstackProvider({ endpoint: socket }).sealingRoot();
    expect(root).toEqual({ source: 'dstack-kms', secret: agent.derived(DSTACK_SEALING_KEY_PATH) });
    expect(agent.requests.at(-1)).toMatchObject({ path: '/GetKey', body: { path: DSTACK_SEALING_KEY_PATH } });
    tappd.mode = 'fill';
    const legacy = await dstackProvider({ endpoint: tappdSocket }).sealingRoot();
    expect(legacy.source).toBe('dstack-kms');
    // The whole DER private key, which ends in the derived key.
    expect(legacy.secret.subarray(-32)).toEqual(tappd.derived(DSTACK_SEALING_KEY_PATH));
    expect(tappd.requests.at(-1)).toMatchObject({
      path: '/prpc/Tappd.DeriveKey',
      body: { path: DSTACK_SEALING_KEY_PATH },
    });
  });

  it('refuses a KMS that gives no key (tee_sealing_unavailable) or a short one (tee_sealing_key_invalid)', async () => {
    agent.mode = 'error';
    await expect(dstackProvider({ endpoint: socket }).sealingRoot()).rejects.toMatchObject({
      code: 'tee_sealing_unavailable',
      message: expect.stringContaining(socket),
    });
    agent.mode = 'short-key';
    await expect(dstackProvider({ endpoint: socket }).sealingRoot()).rejects.toMatchObject({
      code: 'tee_sealing_key_invalid',
      message: expect.stringContaining('8 bytes'),
    });
    agent.mode = 'fill';
  });

  it('plain TDX: refuses to give a sealing root without a key provider, saying why; takes the KMS key through one', async () => {
    const bare = tdxConfigfsProvider({ root: tsmRoot(), fs: fakeTsm().fs });
    await expect(bare.sealingRoot()).rejects.toMatchObject({
      code: 'tee_sealing_unavailable',
      message: expect.stringMatching(/^plain TDX has no sealing key.*readable by the host/),
    });
    const withKms = createProvider(
      providerConfig({ tee: 'tdx', root: tsmRoot(), endpoint: socket }, freshDir('unused')),
    );
    expect(await withKms.sealingRoot()).toEqual({
      source: 'dstack-kms',
      secret: agent.derived(DSTACK_SEALING_KEY_PATH),
    });
  });

  it('fails with tee_device_missing naming the socket', async () => {
    const missing = join(work, 'nowhere', 'dstack.sock');
    await expect(dstackProvider({ endpoint: missing }).evidence(request(nonce()))).rejects.toMatchObject({
      code: 'tee_device_missing',
      message: expect.stringContaining(missing),
    });
  });

  it('fails with tee_report_data_mismatch when the agent returns a quote for other report data', async () => {
    agent.mode = 'recorded';
    await expect(dstackProvider({ endpoint: socket }).evidence(request(nonce()))).rejects.toMatchObject({
      code: 'tee_report_data_mismatch',
    });
  });

  it('fails with tee_quote_failed when the agent reports an error or answers nonsense, tee_quote_malformed for a non-hex quote', async () => {
    agent.mode = 'error';
    await expect(dstackProvider({ endpoint: socket }).evidence(request(nonce()))).rejects.toMatchObject({
      code: 'tee_quote_failed',
      message: expect.stringContaining('quote service unavailable'),
    });
    agent.mode = 'not-json';
    await expect(dstackProvider({ endpoint: socket }).evidence(request(nonce()))).rejects.toMatchObject({
      code: 'tee_quote_failed',
    });
    agent.mode = 'not-hex';
    await expect(dstackProvider({ endpoint: socket }).evidence(request(nonce()))).rejects.toMatchObject({
      code: 'tee_quote_malformed',
    });
  });
});

// ---------- configuration and the simulated provider ----------

describe('provider configuration', () => {
  it('maps each --tee choice to its provider, with the simulated one as it was', async () => {
    const dataDir = freshDir('sim');
    expect(providerConfig({ tee: 'simulated' }, dataDir)).toEqual({ kind: 'simulated', dataDir });
    expect(providerConfig({ tee: 'tdx', root: '/x/tsm' }, dataDir)).toEqual({
      kind: 'tdx-configfs',
      root: '/x/tsm',
    });
    expect(providerConfig({ tee: 'tdx', endpoint: '/run/dstack.sock' }, dataDir)).toEqual({
      kind: 'tdx-configfs',
      keyProvider: '/run/dstack.sock',
    });
    expect(providerConfig({ tee: 'dstack', endpoint: '/run/dstack.sock' }, dataDir)).toEqual({
      kind: 'dstack',
      endpoint: '/run/dstack.sock',
    });
    expect(providerConfig({ tee: 'sgx-gramine' }, dataDir)).toEqual({ kind: 'sgx-gramine' });
    expect(teeEnv({ tee: 'simulated' })).toEqual({
      OBSCURA_TEE: 'simulated',
      OBSCURA_TEE_ROOT: undefined,
      OBSCURA_DSTACK_ENDPOINT: undefined,
    });

    const sim = createProvider(providerConfig({ tee: 'simulated' }, dataDir));
    expect([sim.kind, sim.tee]).toEqual(['simulated', 'simulated']);
    expect(await sim.identify()).toBeUndefined();
    const n = nonce();
    const evidence = SimulatedEvidenceSchema.parse(await sim.evidence(request(n)));
    expect(evidence.report).toMatchObject({
      nonce: n,
      measurement: 'c'.repeat(64),
      keysDigest: keysDigest(keys),
      workerId: 'worker-1',
    });
    // The simulated root is a file of the data directory, and says so.
    const root = await sim.sealingRoot();
    expect(root.source).toBe('simulated-file');
    expect(readFileSync(join(dataDir, 'simulated-tee', 'platform.key'), 'utf8').trim()).toBe(
      root.secret.toString('hex'),
    );
  });
});
