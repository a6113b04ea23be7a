/**
 * The real Intel DCAP quotes and collateral of test/fixtures/dcap (public samples of
 * @phala/dcap-qvl, MIT: see the README and licence there), and a PCCS stand-in on 127.0.0.1
 * that serves that collateral the way a PCCS does.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { type Collateral, fixedCollateral, parseCollateral } from '../../src/attestation/dcap/index.ts';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';

/** Where the fixtures live (in the repository, so every clone runs every attestation test). */
export const FIXTURES = resolve(PROJECT_ROOT, 'test/fixtures/dcap');

/** Verification times the fixtures' README gives. */
export const TDX_AT = 1750329207;
export const SGX_AT = 1750330631;
export const EXPIRED_AT = 1900000000;
export const TDX_MRTD =
  '91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7';
export const TDX_REPORT_DATA =
  '9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20';
export const SGX_MRENCLAVE = '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb';
export const SGX_MRSIGNER = '815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6';

/** A fixture file's bytes. */
export function fixture(name: string): Buffer {
  return readFileSync(resolve(FIXTURES, name));
}

/** A fixture collateral, parsed (a fresh object each call). */
export function collateral(kind: 'tdx' | 'sgx'): Collateral {
  return parseCollateral(
    JSON.parse(fixture(`${kind}_quote_collateral.json`).toString('utf8')),
    `${kind} collateral`,
  );
}

/** A source that always gives that collateral. */
export function fixedSource(kind: 'tdx' | 'sgx', c: Collateral = collateral(kind)) {
  return fixedCollateral(c, `${kind}_quote_collateral.json`);
}

/** A local PCCS serving the fixture collateral; counts the requests it answers. */
export interface FakePccs {
  url: string;
  requests: string[];
  close: () => Promise<void>;
}

/** Start a PCCS stand-in on 127.0.0.1 (API v4 paths, issuer chains URL-encoded in headers). */
export async function startFakePccs(): Promise<FakePccs> {
  const tdx = collateral('tdx');
  const sgx = collateral('sgx');
  const requests: string[] = [];
  const byFmspc: Record<string, Collateral> = { B0C06F000000: tdx, '00A067110000': sgx };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${url.pathname}${url.search}`);
    const send = (body: string | Buffer, headers: Record<string, string> = {}) => {
      res.writeHead(200, headers);
      res.end(body);
    };
    const tee = url.pathname.startsWith('/tdx/') ? tdx : sgx;
    const hex = (v: string | number[]) => (typeof v === 'string' ? v : Buffer.from(v).toString('hex'));
    if (url.pathname === '/sgx/certification/v4/pckcrl') {
      const c = url.searchParams.get('ca') === 'platform' ? tdx : sgx;
      return send(Buffer.from(hex(c.pck_crl), 'hex'), {
        'SGX-PCK-CRL-Issuer-Chain': encodeURIComponent(c.pck_crl_issuer_chain),
      });
    }
    if (url.pathname.endsWith('/certification/v4/tcb')) {
      const c = byFmspc[url.searchParams.get('fmspc') ?? ''];
      if (!c) {
        res.writeHead(404).end();
        return;
      }
      const header = url.pathname.startsWith('/tdx/') ? 'TCB-Info-Issuer-Chain' : 'SGX-TCB-Info-Issuer-Chain';
      return send(`{"tcbInfo":${c.tcb_info},"signature":"${hex(c.tcb_info_signature)}"}`, {
        [header]: encodeURIComponent(c.tcb_info_issuer_chain),
      });
    }
    if (url.pathname.endsWith('/certification/v4/qe/identity')) {
      return send(`{"enclaveIdentity":${tee.qe_identity},"signature":"${hex(tee.qe_identity_signature)}"}`, {
        'SGX-Enclave-Identity-Issuer-Chain': encodeURIComponent(tee.qe_identity_issuer_chain),
      });
    }
    if (url.pathname === '/sgx/certification/v4/rootcacrl') return send(hex(tdx.root_ca_crl));
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
