import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cacheFileName,
  PccsCollateralSource,
  parseQuote,
  quoteBytesFromFile,
  verifyDcap,
} from '../../src/attestation/dcap/index.ts';
import { rawJsonMember } from '../../src/attestation/dcap/pccs.ts';
import { generateEd25519 } from '../../src/common/ed25519.ts';
import { generateIdentity } from '../../src/crypto/index.ts';
import {
  type AttestationVerdict,
  keysDigest,
  parsePolicy,
  verifyEvidence,
} from '../../src/attestation/index.ts';
import { verifyQuote } from '../../src/attestation/verify-quote.ts';
import {
  collateral,
  EXPIRED_AT,
  type FakePccs,
  fixedSource,
  fixture,
  SGX_AT,
  SGX_MRENCLAVE,
  SGX_MRSIGNER,
  startFakePccs,
  TDX_AT,
  TDX_MRTD,
  TDX_REPORT_DATA,
} from './dcap-fixtures.ts';

const failed = (v: AttestationVerdict) => v.checks.filter((c) => !c.ok).map((c) => c.name);
const detail = (v: AttestationVerdict, name: string) => v.checks.find((c) => c.name === name)?.detail ?? '';
const flip = (buf: Buffer, at: number, mask = 0x01) => {
  const b = Buffer.from(buf);
  b[at] = (b[at] as number) ^ mask;
  return b;
};
const CONTENT_CHECKS = ['quote signature', 'tcb status', 'measurement', 'report data'];

describe("DCAP quotes: parsing and the fixtures' statuses", () => {
  it('parses the TDX v4 quote: MRTD, RTMRs, MRSEAM, report data, FMSPC and the PCK platform CA', () => {
    const q = parseQuote(fixture('tdx_quote'));
    expect(q.tee).toBe('tdx');
    expect(q.version).toBe(4);
    if (q.tee !== 'tdx') throw new Error('unreachable');
    expect(q.td.mrTd).toBe(TDX_MRTD);
    expect(q.reportData).toBe(TDX_REPORT_DATA);
    expect(q.td.rtMr0).toMatch(/^44c0197b/);
    expect(q.td.mrSeam).toHaveLength(96);
    const raw = fixture('tdx_quote');
    expect(q.length).toBeLessThan(raw.length); // the sample carries zero padding too
    expect(raw.subarray(q.length).every((b) => b === 0)).toBe(true);
    expect(q.pck).toEqual({ fmspc: 'b0c06f000000', ca: 'platform' });
    expect(q.debug).toBe(false);
  });

  it('parses the SGX v3 quote: MRENCLAVE, MRSIGNER, ISV ids, report data', () => {
    const q = parseQuote(fixture('sgx_quote'));
    if (q.tee !== 'sgx') throw new Error('expected sgx');
    expect(q.version).toBe(3);
    expect(q.sgx.mrEnclave).toBe(SGX_MRENCLAVE);
    expect(q.sgx.mrSigner).toBe(SGX_MRSIGNER);
    expect(Buffer.from(q.reportData, 'hex').subarray(0, 13).toString()).toBe('Hello, world!');
    expect(q.pck).toEqual({ fmspc: '00a067110000', ca: 'processor' });
  });

  it('reads the hex text quote of a dstack guest agent, ignoring its zero padding', () => {
    const file = fixture('quote-from-tappd.hex');
    const raw = quoteBytesFromFile(file);
    const q = parseQuote(raw);
    if (q.tee !== 'tdx') throw new Error('expected tdx');
    expect(q.td.mrTd).toMatch(/^c68518a0/);
    expect(q.td.rtMr3).toMatch(/^a2d25bc8/);
    expect(q.length).toBeLessThan(raw.length);
    expect(raw.subarray(q.length).every((b) => b === 0)).toBe(true);
  });

  it('refuses what is not a quote with a clear reason', () => {
    expect(() => parseQuote(Buffer.from('hello'))).toThrow(/not a DCAP quote/);
  });

  it('gives exactly the README statuses: TDX UpToDate, SGX ConfigurationAndSWHardeningNeeded with its advisories', () => {
    const tdx = verifyDcap(fixture('tdx_quote'), parseQuote(fixture('tdx_quote')), collateral('tdx'), TDX_AT);
    expect(tdx.signature.ok).toBe(true);
    expect(tdx.tcb).toEqual({ status: 'UpToDate', advisoryIds: [] });
    const sgx = verifyDcap(fixture('sgx_quote'), parseQuote(fixture('sgx_quote')), collateral('sgx'), SGX_AT);
    expect(sgx.signature.ok).toBe(true);
    expect(sgx.tcb).toEqual({
      status: 'ConfigurationAndSWHardeningNeeded',
      advisoryIds: ['INTEL-SA-00289', 'INTEL-SA-00615'],
    });
  });
});

describe('DCAP verification: each check fails with its own reason', () => {
  const tdxPolicy = parsePolicy(`measurements:\n  - tdx: { mrtd: "${TDX_MRTD}" }\n`);
  const sgxPolicy = parsePolicy(
    `measurements:\n  - sgx: { mrenclave: "${SGX_MRENCLAVE}", mrsigner: "${SGX_MRSIGNER}" }\n`,
  );
  const tdx = (raw: Buffer, extra: Parameters<typeof verifyQuote>[1] = {}) =>
    verifyQuote(raw, {
      collateral: fixedSource('tdx'),
      at: TDX_AT,
      policy: tdxPolicy,
      reportData: TDX_REPORT_DATA,
      ...extra,
    });
  const sgx = (raw: Buffer, extra: Parameters<typeof verifyQuote>[1] = {}) =>
    verifyQuote(raw, { collateral: fixedSource('sgx'), at: SGX_AT, policy: sgxPolicy, ...extra });

  it('accepts the TDX quote under a policy naming its MRTD, and reports MRTD as the measurement', async () => {
    const v = await tdx(fixture('tdx_quote'));
    expect(failed(v)).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.simulated).toBe(false);
    expect(v.measurement).toBe(TDX_MRTD);
    expect(v.checks.map((c) => c.name)).toEqual([
      'tee kind',
      'quote signature',
      'tcb status',
      'measurement',
      'report data',
      'collateral freshness',
    ]);
    expect(detail(v, 'quote signature')).toMatch(/Intel SGX PCK Platform CA → Intel SGX Root CA/);
    expect(detail(v, 'tcb status')).toMatch(/^UpToDate \(no advisories\)/);
    expect(detail(v, 'measurement')).toMatch(/matches policy entry 1/);
  });

  it('refuses the SGX quote under the default TCB policy and accepts it when the policy lists its status', async () => {
    const refused = await sgx(fixture('sgx_quote'));
    expect(failed(refused)).toEqual(['tcb status']);
    expect(detail(refused, 'tcb status')).toBe(
      'ConfigurationAndSWHardeningNeeded (advisories INTEL-SA-00289, INTEL-SA-00615) is not an accepted status (accepted: UpToDate)',
    );
    const lenient = parsePolicy(
      `tcb: [UpToDate, ConfigurationAndSWHardeningNeeded]\nmeasurements:\n  - sgx: { mrenclave: "${SGX_MRENCLAVE}" }\n`,
    );
    const accepted = await sgx(fixture('sgx_quote'), { policy: lenient });
    expect(failed(accepted)).toEqual([]);
    expect(accepted.measurement).toBe(SGX_MRENCLAVE);
  });

  it('a flipped byte in the header, the body or the signature fails the signature check, and nothing is read from the quote', async () => {
    const raw = fixture('tdx_quote');
    const q = parseQuote(raw);
    const cases: [string, number, RegExp][] = [
      ['header (QE vendor id)', 20, /report signature is invalid/],
      ['body (MRTD)', 48 + 136, /report signature is invalid/],
      ['body (report data)', q.signedLength - 1, /report signature is invalid/],
      ['quote signature', q.signedLength + 4 + 10, /report signature is invalid/],
      ['attestation key', q.signedLength + 4 + 64 + 3, /QE report hash mismatch/],
      ['PCK certificate', raw.indexOf('-----BEGIN CERTIFICATE-----') + 300, /./],
    ];
    for (const [where, at, reason] of cases) {
      const v = await tdx(flip(raw, at));
      expect(failed(v), where).toEqual(CONTENT_CHECKS);
      expect(detail(v, 'quote signature'), where).toMatch(reason);
      expect(detail(v, 'measurement'), where).toMatch(/^not evaluated: the quote signature did not verify/);
    }
  });

  it('any flipped byte of the signed SGX header and body is refused (property)', async () => {
    const raw = fixture('sgx_quote');
    const signed = parseQuote(raw).signedLength;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: signed - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, mask) => {
          let v: AttestationVerdict;
          try {
            v = await sgx(flip(raw, at, mask));
          } catch (e) {
            // a flipped version or TEE type byte makes it no quote at all
            expect(String(e)).toMatch(/not a DCAP quote/);
            return;
          }
          expect(v.ok).toBe(false);
          expect(failed(v)).toContain('quote signature');
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a wrong report-data value or key binding fails only the report data check', async () => {
    const wrong = await tdx(fixture('tdx_quote'), { reportData: 'ab'.repeat(64) });
    expect(failed(wrong)).toEqual(['report data']);
    expect(detail(wrong, 'report data')).toMatch(/^9a9d48e7f6799642… is not the expected abababab/);

    const keys = { recipient: generateIdentity().recipient, signingKey: generateEd25519().publicKey };
    const nonce = randomBytes(32).toString('hex');
    const evidence = {
      tee: 'tdx' as const,
      provider: 'tdx-configfs' as const,
      quote: fixture('tdx_quote').toString('hex'),
      nonce,
      keys,
      workerId: 'w1',
    };
    const v = await verifyEvidence(evidence, {
      nonce,
      keys,
      collateral: fixedSource('tdx'),
      at: TDX_AT,
      policy: tdxPolicy,
    });
    expect(failed(v)).toEqual(['report data']);
    expect(detail(v, 'report data')).toBe(
      `does not bind the enclave's keys: it starts 9a9d48e7f6799642…, the keys' digest is ${keysDigest(keys).slice(0, 16)}…`,
    );
  });

  it('expired collateral fails the freshness check with "TCBInfo expired", and the other checks still say what holds', async () => {
    const v = await tdx(fixture('tdx_quote'), { at: EXPIRED_AT });
    expect(failed(v)).toEqual(['collateral freshness']);
    expect(detail(v, 'collateral freshness')).toMatch(
      /^TCBInfo expired \(next update was due 2025-07-19T10:16:03Z; verification time 2030-03-17T17:46:40Z\)/,
    );
    expect(detail(v, 'quote signature')).toMatch(
      /checked at 2025-07-19T10:00:35Z, when the collateral was last valid/,
    );
    const s = await sgx(fixture('sgx_quote'), { at: EXPIRED_AT });
    expect(detail(s, 'collateral freshness')).toMatch(/^TCBInfo expired/);
  });

  it('collateral older than max_collateral_age fails the freshness check', async () => {
    const strict = parsePolicy(`measurements:\n  - tdx: { mrtd: "${TDX_MRTD}" }\nmax_collateral_age: 10m\n`);
    const v = await tdx(fixture('tdx_quote'), { policy: strict });
    expect(failed(v)).toEqual(['collateral freshness']);
    expect(detail(v, 'collateral freshness')).toMatch(
      /PCK CRL is too old: issued 2025-06-19T10:00:35Z, 33 min before the verification time \(policy max_collateral_age 10m\)/,
    );
  });

  it('a measurement outside the policy fails the measurement check, naming what differs', async () => {
    const other = parsePolicy(
      `measurements:\n  - tdx: { mrtd: "${TDX_MRTD}", rtmr0: "${'00'.repeat(48)}" }\n  - tdx: { mrtd: "${'11'.repeat(48)}" }\n`,
    );
    const v = await tdx(fixture('tdx_quote'), { policy: other });
    expect(failed(v)).toEqual(['measurement']);
    expect(detail(v, 'measurement')).toMatch(
      /matches none of the policy's tdx entries \(entry 1: rtmr0 differs; entry 2: mrtd differs\)$/,
    );
    const sgxOnly = await tdx(fixture('tdx_quote'), { policy: sgxPolicy });
    expect(detail(sgxOnly, 'measurement')).toMatch(/the policy lists no tdx measurements$/);
    const empty = await tdx(fixture('tdx_quote'), { policy: parsePolicy('tcb: [UpToDate]') });
    expect(detail(empty, 'measurement')).toMatch(
      /the policy lists no accepted measurements, so it accepts no enclave$/,
    );
    const list = await tdx(fixture('tdx_quote'), { measurements: ['22'.repeat(48)] });
    expect(detail(list, 'measurement')).toMatch(/MRTD is not in the accepted list$/);
  });

  it('a TEE kind outside the policy, or evidence that misnames its TEE, fails the tee kind check', async () => {
    const v = await tdx(fixture('tdx_quote'), {
      policy: parsePolicy(`tee: [sgx]\nmeasurements:\n  - tdx: { mrtd: "${TDX_MRTD}" }\n`),
    });
    expect(failed(v)).toEqual(['tee kind']);
    expect(detail(v, 'tee kind')).toBe(
      'Intel TDX, quote v4, TD 1.0 report: not an accepted TEE kind (accepted: sgx)',
    );
  });

  it('a CRL that is not Intel-signed, or from the wrong CA, fails the signature check', async () => {
    const forged = collateral('tdx');
    const root = Buffer.from(forged.root_ca_crl as string, 'hex');
    forged.root_ca_crl = flip(root, root.length - 10).toString('hex'); // in the signature value
    const v = await tdx(fixture('tdx_quote'), { collateral: fixedSource('tdx', forged) });
    expect(failed(v)).toEqual(['quote signature']);
    expect(detail(v, 'quote signature')).toBe("root CA CRL is not Intel's: its signature does not verify");
    forged.root_ca_crl = flip(root, 100).toString('hex'); // in the issuer name
    const renamed = await tdx(fixture('tdx_quote'), { collateral: fixedSource('tdx', forged) });
    expect(detail(renamed, 'quote signature')).toBe(
      "root CA CRL is not Intel's: its issuer is not the expected CA",
    );

    const mixed = collateral('tdx');
    const s = collateral('sgx');
    mixed.pck_crl = s.pck_crl;
    mixed.pck_crl_issuer_chain = s.pck_crl_issuer_chain;
    const w = await tdx(fixture('tdx_quote'), { collateral: fixedSource('tdx', mixed) });
    expect(detail(w, 'quote signature')).toMatch(
      /the PCK CRL is not from Intel SGX PCK Platform CA, which issued the PCK certificate/,
    );
  });

  it('altered TCB info fails the signature check', async () => {
    const c = collateral('tdx');
    c.tcb_info = c.tcb_info.replace('"tcbEvaluationDataNumber":', '"tcbEvaluationDataNumber":1');
    const v = await tdx(fixture('tdx_quote'), { collateral: fixedSource('tdx', c) });
    expect(detail(v, 'quote signature')).toMatch(/Signature is invalid for tcb_info/);
  });
});

describe('DCAP collateral from a PCCS, cached on disk', () => {
  let pccs: FakePccs;
  const dir = mkdtempSync(join(tmpdir(), 'obscura-pccs-'));
  beforeAll(async () => {
    pccs = await startFakePccs();
  });
  afterAll(async () => {
    await pccs?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the signed JSON byte for byte', () => {
    expect(rawJsonMember('{"tcbInfo":{"a":[1,"}"],"b":"x\\"y"} ,"signature":"00"}', 'tcbInfo')).toBe(
      '{"a":[1,"}"],"b":"x\\"y"}',
    );
    expect(rawJsonMember('{"signature":"00","tcbInfo": {"a":1}}', 'tcbInfo')).toBe('{"a":1}');
  });

  it('fetches once, then verifies from the disk cache without a request; an expired entry is fetched again', async () => {
    const raw = fixture('tdx_quote');
    const first = await verifyQuote(raw, {
      collateral: new PccsCollateralSource({ url: pccs.url, cacheDir: dir }),
      at: TDX_AT,
    });
    expect(failed(first)).toEqual([]);
    expect(pccs.requests).toEqual([
      '/sgx/certification/v4/pckcrl?ca=platform&encoding=der',
      '/tdx/certification/v4/tcb?fmspc=B0C06F000000',
      '/tdx/certification/v4/qe/identity?update=standard',
      '/sgx/certification/v4/rootcacrl',
    ]);
    const file = join(dir, cacheFileName({ tee: 'tdx', fmspc: 'b0c06f000000', ca: 'platform' }));
    expect(existsSync(file)).toBe(true);

    // A new process (a new source) reads the disk cache: no request.
    const second = await verifyQuote(raw, {
      collateral: new PccsCollateralSource({ url: pccs.url, cacheDir: dir }),
      at: TDX_AT + 3600,
    });
    expect(failed(second)).toEqual([]);
    expect(pccs.requests).toHaveLength(4);
    expect(detail(second, 'collateral freshness')).toMatch(/cached in /);

    // An entry past its nextUpdate is fetched again.
    const entry = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...entry, validUntil: TDX_AT - 1 }));
    const third = await verifyQuote(raw, {
      collateral: new PccsCollateralSource({ url: pccs.url, cacheDir: dir }),
      at: TDX_AT,
    });
    expect(failed(third)).toEqual([]);
    expect(pccs.requests).toHaveLength(8);
    expect(JSON.parse(readFileSync(file, 'utf8')).validUntil).toBe(entry.validUntil);

    // A corrupt cache file is ignored and replaced.
    writeFileSync(file, '{not json');
    await verifyQuote(raw, {
      collateral: new PccsCollateralSource({ url: pccs.url, cacheDir: dir }),
      at: TDX_AT,
    });
    expect(pccs.requests).toHaveLength(12);
  });

  it('caches per platform kind: the SGX quote fetches its own collateral (processor CA, SGX TCB info)', async () => {
    const before = pccs.requests.length;
    const v = await verifyQuote(fixture('sgx_quote'), {
      collateral: new PccsCollateralSource({ url: pccs.url, cacheDir: dir }),
      at: SGX_AT,
    });
    expect(v.quote?.tcb?.status).toBe('ConfigurationAndSWHardeningNeeded');
    expect(pccs.requests.slice(before, before + 2)).toEqual([
      '/sgx/certification/v4/pckcrl?ca=processor&encoding=der',
      '/sgx/certification/v4/tcb?fmspc=00A067110000',
    ]);
  });

  it('an unreachable PCCS fails the signature check with the URL and the cause, and does not throw', async () => {
    const down = await startFakePccs();
    await down.close();
    const v = await verifyQuote(fixture('tdx_quote'), {
      collateral: new PccsCollateralSource({ url: down.url, timeoutMs: 2000 }),
      at: TDX_AT,
    });
    expect(failed(v)).toEqual([...CONTENT_CHECKS, 'collateral freshness']);
    expect(detail(v, 'quote signature')).toMatch(
      new RegExp(
        `^no collateral: cannot fetch the PCK CRL from ${down.url}/sgx/certification/v4/pckcrl\\?ca=platform&encoding=der: `,
      ),
    );
  });
});
