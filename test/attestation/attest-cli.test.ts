import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatedEvidence } from '../../src/attestation/index.ts';
import { generateEd25519 } from '../../src/common/ed25519.ts';
import { generateIdentity } from '../../src/crypto/index.ts';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import { type CliRun, obscura } from '../helpers/cli.ts';
import { FIXTURES, SGX_MRENCLAVE, TDX_MRTD, TDX_REPORT_DATA } from './dcap-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'obscura-attest-cli-'));
const f = (name: string) => resolve(FIXTURES, name);
const write = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const lines = (r: CliRun) => r.stdout.split('\n');

/** A stand-in API host with two workers: a simulated one and one that answers with the TDX sample quote. */
function startApi(): Promise<{ url: string; server: Server }> {
  const dataDir = join(dir, 'host');
  const keys = { recipient: generateIdentity().recipient, signingKey: generateEd25519().publicKey };
  const measurement = 'c'.repeat(64);
  const workers = [
    {
      id: 'sim-1',
      tee: 'simulated',
      provider: 'simulated',
      simulated: true,
      measurement,
      measurementSource: 'code',
      sealingRoot: 'simulated-file',
      ...keys,
      status: 'running',
    },
    {
      id: 'tdx-1',
      tee: 'tdx',
      provider: 'tdx-configfs',
      simulated: false,
      measurement,
      measurementSource: 'code',
      sealingRoot: 'dstack-kms',
      ...keys,
      status: 'running',
    },
  ];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (v: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    if (url.pathname === '/v1/workers') return json({ workers });
    const nonce = url.searchParams.get('nonce') ?? '';
    if (url.pathname === '/v1/workers/sim-1/attestation')
      return json({ evidence: simulatedEvidence({ dataDir, workerId: 'sim-1', measurement, keys, nonce }) });
    if (url.pathname === '/v1/workers/tdx-1/attestation') {
      // A genuine quote, but not made for these keys or this nonce.
      const quote = readFileSync(resolve(FIXTURES, 'tdx_quote')).toString('hex');
      return json({
        evidence: { tee: 'tdx', provider: 'tdx-configfs', quote, nonce, keys, workerId: 'tdx-1' },
      });
    }
    res.writeHead(404).end();
  });
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () =>
      r({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }),
    ),
  );
}

describe('obscura attest', () => {
  const runs: Record<string, CliRun> = {};
  let api: { url: string; server: Server } | undefined;

  beforeAll(async () => {
    api = await startApi();
    const tdxPolicy = write(
      'tdx.yaml',
      `tee: [tdx]\nmeasurements:\n  - tdx: { mrtd: "${TDX_MRTD}" }\nmax_collateral_age: 30d\n`,
    );
    const sgxPolicy = write(
      'sgx.yaml',
      `tcb: [UpToDate, ConfigurationAndSWHardeningNeeded]\nmeasurements:\n  - sgx: { mrenclave: "${SGX_MRENCLAVE}" }\n`,
    );
    const badPolicy = write('bad.yaml', 'measurements:\n  - tdx: { mrtd: "91eb" }\n');
    const tdx = [f('tdx_quote'), '--collateral', f('tdx_quote_collateral.json'), '--at', '1750329207'];
    const sgx = [f('sgx_quote'), '--collateral', f('sgx_quote_collateral.json'), '--at', '1750330631'];
    const evidence = write(
      'evidence.json',
      JSON.stringify({
        evidence: {
          tee: 'tdx',
          provider: 'dstack',
          quote: readFileSync(f('tdx_quote')).toString('hex'),
          nonce: randomBytes(32).toString('hex'),
          keys: { recipient: generateIdentity().recipient, signingKey: generateEd25519().publicKey },
          workerId: 'w',
        },
      }),
    );
    const cases: Record<string, string[]> = {
      tdxOk: ['attest', ...tdx, '--policy', tdxPolicy, '--report-data', TDX_REPORT_DATA],
      sgxPolicyJson: ['--json', 'attest', ...sgx, '--policy', sgxPolicy],
      hexExpired: [
        'attest',
        f('quote-from-tappd.hex'),
        '--collateral',
        f('tdx_quote_collateral.json'),
        '--at',
        '1900000000',
        '--policy',
        tdxPolicy,
      ],
      evidenceFile: [
        'attest',
        evidence,
        '--collateral',
        f('tdx_quote_collateral.json'),
        '--at',
        '1750329207',
      ],
      badPolicy: ['attest', ...tdx, '--policy', badPolicy],
      simWorker: ['--api', api.url, 'attest', 'sim-1', '--allow-simulated'],
      tdxWorker: [
        '--api',
        api.url,
        'attest',
        'tdx-1',
        '--collateral',
        f('tdx_quote_collateral.json'),
        '--at',
        '1750329207',
      ],
    };
    const names = Object.keys(cases);
    const results = await Promise.all(
      names.map((n) =>
        obscura(cases[n] as string[], { cwd: PROJECT_ROOT, env: { XDG_CACHE_HOME: join(dir, 'cache') } }),
      ),
    );
    names.forEach((n, i) => {
      runs[n] = results[i] as CliRun;
    });
  }, 120_000);

  afterAll(async () => {
    await new Promise<void>((r) => (api ? api.server.close(() => r()) : r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies the TDX sample check by check under a policy, and exits 0', () => {
    const r = runs.tdxOk as CliRun;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lines(r);
    expect(out).toContain(`  MRTD         ${TDX_MRTD}`);
    expect(out).toContain('✓ tee kind: Intel TDX, quote v4, TD 1.0 report (accepted: tdx)');
    expect(
      out.some((l) =>
        l.startsWith(
          '✓ quote signature: PCK certificate → Intel SGX PCK Platform CA → Intel SGX Root CA, none revoked',
        ),
      ),
    ).toBe(true);
    expect(out).toContain('✓ tcb status: UpToDate (no advisories); accepted');
    expect(
      out.some((l) => /^✓ measurement: MRTD 91eb2b44d141d4ec…, .*: matches policy entry 1$/.test(l)),
    ).toBe(true);
    expect(out).toContain('✓ report data: 9a9d48e7f6799642… is the expected value');
    expect(
      out.some(
        (l) =>
          l.startsWith('✓ collateral freshness: valid at 2025-06-19T10:33:27Z until 2025-07-19T10:00:35Z') &&
          l.includes('(limit 30d)'),
      ),
    ).toBe(true);
    expect(out.at(-2)).toMatch(/tdx_quote: attestation verified, every check holds$/);
  });

  it('--json gives the verdict for machines; a policy listing the status accepts the SGX sample', () => {
    const r = runs.sgxPolicyJson as CliRun;
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v).toMatchObject({ ok: true, tee: 'sgx', simulated: false, measurement: SGX_MRENCLAVE });
    expect(v.checks.map((c: { name: string }) => c.name)).toEqual([
      'tee kind',
      'quote signature',
      'tcb status',
      'measurement',
      'report data',
      'collateral freshness',
    ]);
    expect(v.quote.tcb).toEqual({
      status: 'ConfigurationAndSWHardeningNeeded',
      advisoryIds: ['INTEL-SA-00289', 'INTEL-SA-00615'],
    });
    expect(v.quote.parsed.sgx.mrSigner).toMatch(/^815f42f1/);
  });

  it('reads a hex quote file; expired collateral and an unmatched measurement each fail on their own line', () => {
    const r = runs.hexExpired as CliRun;
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ {2}MRTD {9}c68518a0/m);
    expect(r.stdout).toMatch(/^ {2}RTMR3 {8}a2d25bc8/m);
    expect(r.stdout).toMatch(
      /^✗ collateral freshness: TCBInfo expired \(next update was due 2025-07-19T10:16:03Z; verification time 2030-03-17T17:46:40Z\)/m,
    );
    expect(r.stdout).toMatch(
      /^✗ measurement: MRTD c68518a0ebb42136…, .* matches none of the policy's tdx entries \(entry 1: mrtd differs\)$/m,
    );
    expect(r.stdout).toMatch(/^✓ quote signature: /m);
  });

  it('a JSON evidence file is checked for its key binding', () => {
    const r = runs.evidenceFile as CliRun;
    expect(r.code).toBe(1);
    expect(lines(r).filter((l) => l.startsWith('✗'))).toEqual([
      expect.stringMatching(/^✗ report data: does not bind the enclave's keys/),
    ]);
  });

  it('a bad policy file fails in one line naming the path in the document', () => {
    const r = runs.badPolicy as CliRun;
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(
      `obscura: ${join(dir, 'bad.yaml')}: measurements[0].tdx.mrtd: mrtd must be 48 bytes of hex (96 digits) (policy_invalid)`,
    );
  });

  it('a worker id asks the API for evidence bound to a fresh nonce and its listed keys', () => {
    const ok = runs.simWorker as CliRun;
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^✓ nonce: report carries the fresh nonce sent$/m);
    expect(ok.stdout).toMatch(/^✓ recipient: /m);
    expect(ok.stdout).toMatch(
      /worker sim-1: attestation verified, every check holds \(SIMULATED TEE, not hardware\)/,
    );
  });

  it('a hardware worker whose quote does not bind its listed keys is refused on the report data check', () => {
    const r = runs.tdxWorker as CliRun;
    expect(r.code).toBe(1);
    expect(lines(r).filter((l) => l.startsWith('✗'))).toEqual([
      expect.stringMatching(/^✗ report data: does not bind the enclave's keys/),
    ]);
    expect(r.stdout).toMatch(/✓ quote signature: /);
  });
});
