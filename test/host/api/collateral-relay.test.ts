/**
 * GET /v1/workers/{id}/attestation?collateral=true relays Intel collateral for a hardware
 * quote (the page verifies the quote itself with it), says why when the host has none, and
 * adds nothing for simulated evidence or when not asked. In-process, no network.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollateralSource } from '../../../src/attestation/dcap/source.ts';
import { ObscuraError } from '../../../src/common/errors.ts';
import { collateral, fixture } from '../../attestation/dcap-fixtures.ts';
import { EnclaveDouble, startTestApp, type TestApp } from '../../helpers/app.ts';

const hw: EnclaveDouble = new EnclaveDouble('hw-tdx', {
  attest: ({ nonce }) => ({
    evidence: {
      tee: 'tdx',
      provider: 'tdx-configfs',
      quote: fixture('tdx_quote').toString('hex'),
      nonce,
      keys: hw.info.keys,
      workerId: 'hw-tdx',
    },
  }),
});
Object.assign(hw.info, { tee: 'tdx', provider: 'tdx-configfs', measurementSource: 'hardware' });
const sim: EnclaveDouble = new EnclaveDouble('sim', {
  attest: ({ nonce }) => ({
    evidence: {
      tee: 'simulated',
      report: {} as never,
      signature: '',
      authorityKey: '',
      keys: sim.info.keys,
      nonce,
    } as never,
  }),
});
const asked: string[] = [];
const source: CollateralSource = {
  collateralFor: async (q) => {
    asked.push(`${q.tee}/${q.pck?.fmspc}`);
    return { collateral: collateral(q.tee), origin: 'fixture' };
  },
};
let app: TestApp;
const nonce = 'ab'.repeat(32);
const get = async (path: string) =>
  (await fetch(`${app.url}${path}`)).json() as Promise<Record<string, unknown>>;

beforeAll(async () => {
  app = await startTestApp({ enclaves: [hw, sim] });
  app.ctx.collateral = source;
});
afterAll(() => app?.close());

describe('collateral relayed with a worker attestation', () => {
  it("relays the quote's own collateral when asked, and only then", async () => {
    const a = await get(`/v1/workers/hw-tdx/attestation?nonce=${nonce}&collateral=true`);
    expect(a.collateral).toEqual(JSON.parse(JSON.stringify(collateral('tdx'))));
    expect(a.origin).toBe('fixture');
    expect(asked).toEqual(['tdx/b0c06f000000']);
    const plain = await get(`/v1/workers/hw-tdx/attestation?nonce=${nonce}`);
    expect(plain.collateral).toBeUndefined();
    expect(asked.length).toBe(1);
    expect(
      (await get(`/v1/workers/sim/attestation?nonce=${nonce}&collateral=true`)).collateral,
    ).toBeUndefined();
  });

  it('says why when the host has no collateral, and refuses a malformed flag', async () => {
    app.ctx.collateral = {
      collateralFor: async () => {
        throw new ObscuraError('collateral_unavailable', 'PCCS unreachable', 502);
      },
    };
    const a = await get(`/v1/workers/hw-tdx/attestation?nonce=${nonce}&collateral=true`);
    expect(a.collateral).toBeUndefined();
    expect(a.collateralError).toBe('PCCS unreachable');
    const bad = await fetch(`${app.url}/v1/workers/hw-tdx/attestation?nonce=${nonce}&collateral=yes`);
    expect(bad.status).toBe(400);
    app.ctx.collateral = source;
  });
});
