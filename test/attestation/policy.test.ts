import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  acceptsTee,
  DEFAULT_POLICY,
  loadPolicy,
  matchMeasurement,
  parseDuration,
  parsePolicy,
  simulatedEvidence,
  verifySimulatedEvidence,
} from '../../src/attestation/index.ts';
import { isObscuraError } from '../../src/common/errors.ts';
import { generateEd25519 } from '../../src/common/ed25519.ts';
import { generateIdentity } from '../../src/crypto/index.ts';

const MRTD =
  '91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7';
const RTMR0 =
  '44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0';
const MRENCLAVE = '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb';
const MRSIGNER = '815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6';
const SIM = 'c'.repeat(64);
const dir = mkdtempSync(join(tmpdir(), 'obscura-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EXAMPLE = `
tee: [tdx, sgx]                  # accepted TEE kinds
measurements:                    # any one entry must match all of its fields
  - tdx: { mrtd: "${MRTD.toUpperCase()}", rtmr0: "0x${RTMR0}" }
  - sgx: { mrenclave: "${MRENCLAVE}", mrsigner: "${MRSIGNER}" }
  - simulated: { measurement: "${SIM}" }
tcb: [UpToDate]
max_collateral_age: 30d
allow_simulated: false
`;

/** The message of what `fn` throws. */
function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(isObscuraError(e, 'policy_invalid')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected a policy_invalid error');
}

const tdx = (over: Partial<Record<'mrtd' | 'rtmr0' | 'rtmr1' | 'rtmr2' | 'rtmr3', string>> = {}) => ({
  tee: 'tdx' as const,
  mrtd: MRTD,
  rtmr0: RTMR0,
  rtmr1: '01'.repeat(48),
  rtmr2: '02'.repeat(48),
  rtmr3: '03'.repeat(48),
  ...over,
});

describe('attestation policy documents', () => {
  it('parses the policies.md example, normalising hex to lower case', () => {
    const p = parsePolicy(EXAMPLE, 'example.yaml');
    expect(p.tee).toEqual(['tdx', 'sgx']);
    expect(p.measurements[0]).toEqual({ tdx: { mrtd: MRTD, rtmr0: RTMR0 } });
    expect(p.measurements[1]).toEqual({ sgx: { mrenclave: MRENCLAVE, mrsigner: MRSIGNER } });
    expect(p.tcb).toEqual(['UpToDate']);
    expect(p.max_collateral_age).toBe('30d');
    expect(p.allow_simulated).toBe(false);
  });

  it('defaults: TDX or SGX, UpToDate only, simulated refused, no enclave accepted', () => {
    expect(parsePolicy('')).toEqual({
      tee: ['tdx', 'sgx'],
      measurements: [],
      tcb: ['UpToDate'],
      allow_simulated: false,
    });
    expect(DEFAULT_POLICY).toEqual(parsePolicy('{}'));
    expect(matchMeasurement(DEFAULT_POLICY, tdx())).toEqual({
      ok: false,
      reason: 'the policy lists no accepted measurements, so it accepts no enclave',
    });
  });

  it('names the path of every error', () => {
    expect(thrown(() => parsePolicy('measurements:\n  - tdx: { mrtd: "abc" }\n', 'p.yaml'))).toBe(
      'p.yaml: measurements[0].tdx.mrtd: mrtd must be 48 bytes of hex (96 digits)',
    );
    expect(thrown(() => parsePolicy('tcb: [UpToDate, Revoked]'))).toMatch(
      /^policy: tcb\[1\]: expected one of UpToDate, SWHardeningNeeded, /,
    );
    expect(thrown(() => parsePolicy('max_colateral_age: 30d'))).toMatch(
      /^policy: \(document\): Unrecognized key: "max_colateral_age"/,
    );
    expect(thrown(() => parsePolicy('max_collateral_age: 30 days'))).toBe(
      'policy: max_collateral_age: expected a duration such as 30d, 12h or 90m',
    );
    expect(
      thrown(() =>
        parsePolicy(`measurements:\n  - tdx: { mrtd: "${MRTD}" }\n    sgx: { mrenclave: "${MRENCLAVE}" }\n`),
      ),
    ).toBe('policy: measurements[0]: an entry names exactly one of tdx, sgx, simulated');
    expect(thrown(() => parsePolicy('measurements:\n  - sgx: {}\n'))).toBe(
      'policy: measurements[0].sgx: an sgx entry names mrenclave, mrsigner or both',
    );
    expect(thrown(() => parsePolicy(`measurements:\n  - tdx: { rtmr3: "${MRTD}" }\n`))).toMatch(
      /^policy: measurements\[0\]\.tdx\.mrtd: /,
    );
    expect(thrown(() => parsePolicy('tee: [tdx, simulated]'))).toBe(
      'policy: tee: `simulated` is accepted only with allow_simulated: true',
    );
    expect(thrown(() => parsePolicy('tee: []'))).toBe('policy: tee: accept at least one TEE kind');
    expect(thrown(() => parsePolicy('allow_simulated: "yes"'))).toMatch(/^policy: allow_simulated: /);
    expect(thrown(() => parsePolicy('tee: [tdx\nmeasurements: ['))).toMatch(
      /^policy: not valid YAML at line \d+, column \d+: /,
    );
    expect(thrown(() => parsePolicy('tcb: [UpToDate]\ntcb: [OutOfDate]'))).toMatch(/not valid YAML.*unique/i);
  });

  it('reads a policy file, and says which file cannot be read', async () => {
    writeFileSync(join(dir, 'p.yaml'), EXAMPLE);
    expect((await loadPolicy(join(dir, 'p.yaml'))).measurements).toHaveLength(3);
    await expect(loadPolicy(join(dir, 'absent.yaml'))).rejects.toMatchObject({ code: 'file_unreadable' });
    writeFileSync(join(dir, 'bad.yaml'), 'tcb: [Great]');
    await expect(loadPolicy(join(dir, 'bad.yaml'))).rejects.toThrow(
      `${join(dir, 'bad.yaml')}: tcb[0]: expected one of`,
    );
  });

  it('durations: s, m, h, d, w', () => {
    expect(parseDuration('30d')).toBe(30 * 86_400);
    expect(parseDuration('12h')).toBe(43_200);
    expect(parseDuration('90m')).toBe(5_400);
    expect(parseDuration('45s')).toBe(45);
    expect(parseDuration('2w')).toBe(1_209_600);
    for (const bad of ['0d', '5y', 'd', '1.5h', '-1d'])
      expect(() => parseDuration(bad)).toThrow(/not a duration/);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.constantFrom('s', 'm', 'h', 'd', 'w'), (n, u) => {
        expect(parseDuration(`${n}${u}`)).toBe(n * { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[u]);
      }),
    );
  });
});

describe('deciding by a policy', () => {
  const policy = parsePolicy(EXAMPLE);

  it('one entry must match all of its fields; unnamed registers are free', () => {
    expect(matchMeasurement(policy, tdx())).toEqual({ ok: true, entry: 1 });
    expect(matchMeasurement(policy, tdx({ rtmr3: 'ff'.repeat(48) }))).toEqual({ ok: true, entry: 1 });
    expect(matchMeasurement(policy, tdx({ rtmr0: 'ff'.repeat(48) }))).toEqual({
      ok: false,
      reason: "matches none of the policy's tdx entries (entry 1: rtmr0 differs)",
    });
    expect(matchMeasurement(policy, tdx({ mrtd: 'ff'.repeat(48), rtmr0: 'ff'.repeat(48) }))).toEqual({
      ok: false,
      reason: "matches none of the policy's tdx entries (entry 1: mrtd, rtmr0 differ)",
    });
    expect(matchMeasurement(policy, { tee: 'sgx', mrenclave: MRENCLAVE, mrsigner: MRSIGNER })).toEqual({
      ok: true,
      entry: 2,
    });
    expect(matchMeasurement(policy, { tee: 'sgx', mrenclave: MRENCLAVE, mrsigner: 'aa'.repeat(32) }).ok).toBe(
      false,
    );
    const signerOnly = parsePolicy(`measurements:\n  - sgx: { mrsigner: "${MRSIGNER}" }\n`);
    expect(
      matchMeasurement(signerOnly, { tee: 'sgx', mrenclave: 'aa'.repeat(32), mrsigner: MRSIGNER }),
    ).toEqual({ ok: true, entry: 1 });
    expect(matchMeasurement(signerOnly, tdx())).toEqual({
      ok: false,
      reason: 'the policy lists no tdx measurements',
    });
  });

  it('simulated evidence is accepted only when the policy (or the caller) allows it, and only a listed measurement', () => {
    expect(acceptsTee(policy, 'simulated')).toBe(false);
    expect(acceptsTee(policy, 'simulated', true)).toBe(true);
    expect(acceptsTee(parsePolicy('tee: [sgx]'), 'tdx')).toBe(false);

    const dataDir = join(dir, 'data');
    const keys = { recipient: generateIdentity().recipient, signingKey: generateEd25519().publicKey };
    const nonce = randomBytes(32).toString('hex');
    const ev = (measurement: string) =>
      simulatedEvidence({ dataDir, workerId: 'w1', measurement, keys, nonce });
    const failed = (v: ReturnType<typeof verifySimulatedEvidence>) =>
      v.checks.filter((c) => !c.ok).map((c) => c.name);

    expect(failed(verifySimulatedEvidence(ev(SIM), { nonce, policy }))).toEqual(['tee kind']);
    const allowing = parsePolicy(
      `allow_simulated: true\ntee: [simulated]\nmeasurements:\n  - simulated: { measurement: "${SIM}" }\n`,
    );
    const ok = verifySimulatedEvidence(ev(SIM), { nonce, policy: allowing });
    expect(ok.ok).toBe(true);
    expect(ok.simulated).toBe(true);
    expect(ok.checks.find((c) => c.name === 'measurement')?.detail).toBe(
      `measurement ${SIM} matches policy entry 1`,
    );
    const other = verifySimulatedEvidence(ev('d'.repeat(64)), { nonce, policy: allowing });
    expect(failed(other)).toEqual(['measurement']);
    expect(other.checks.find((c) => c.name === 'measurement')?.detail).toBe(
      `measurement ${'d'.repeat(64)} matches none of the policy's simulated entries (entry 1: measurement differs)`,
    );
    // --measurement and a policy must both hold
    expect(
      failed(verifySimulatedEvidence(ev(SIM), { nonce, policy: allowing, measurements: ['e'.repeat(64)] })),
    ).toEqual(['measurement']);
  });
});
