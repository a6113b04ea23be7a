/**
 * Fetching DCAP collateral from a PCCS or Intel's PCS (API v4): the PCK CRL for the
 * platform's CA, the TCB info for its FMSPC, the QE identity, and the root CA CRL, with their
 * issuer chains from the response headers. Same endpoints as @phala/dcap-qvl's
 * `getCollateralForFmspc`; Obscura's own because that one cannot time out (a stalled PCCS
 * would hang `obscura seal`), re-serialises the signed JSON instead of keeping Intel's bytes,
 * and takes the CA kind from dcap-qvl's faulty issuer check. Nothing fetched is trusted:
 * every document is verified against Intel's root before use.
 */
import { ObscuraError } from '../../common/errors.ts';
import type { Collateral } from './collateral.ts';
import type { PckCa } from './quote.ts';

/** Intel's Provisioning Certification Service. */
export const INTEL_PCS_URL = 'https://api.trustedservices.intel.com';
/** Phala Network's public PCCS. */
export const PHALA_PCCS_URL = 'https://pccs.phala.network';
/** Where Intel publishes the root CA CRL (the CRL distribution point of its root certificate). */
export const INTEL_ROOT_CA_CRL_URL = 'https://certificates.trustedservices.intel.com/IntelSGXRootCA.der';

/** What collateral is looked up by. */
export interface CollateralKey {
  tee: 'tdx' | 'sgx';
  /** FMSPC, hex. */
  fmspc: string;
  ca: PckCa;
}

/** Options of a fetch. */
export interface PccsFetchOptions {
  /** Per-request timeout (default 15 s). */
  timeoutMs?: number;
  /** Injected fetch, for tests. */
  fetch?: typeof fetch;
}

/** A PCCS base URL without a trailing slash or API path. */
export function normalizePccsUrl(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/(sgx|tdx)\/certification\/v4$/, '');
}

async function get(url: string, what: string, opts: PccsFetchOptions): Promise<Response> {
  let res: Response;
  try {
    res = await (opts.fetch ?? fetch)(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000) });
  } catch (e) {
    const cause =
      e instanceof Error
        ? e.name === 'TimeoutError'
          ? 'timed out'
          : ((e.cause as Error | undefined)?.message ?? e.message)
        : String(e);
    throw new ObscuraError(
      'pccs_unreachable',
      `cannot fetch the ${what} from ${url}: ${cause}`,
      502,
      undefined,
      { cause: e },
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new ObscuraError(
      'pccs_error',
      `fetching the ${what}: ${url} answered ${res.status} ${res.statusText}`,
      502,
    );
  }
  return res;
}

function header(res: Response, names: string[], what: string): string {
  for (const n of names) {
    const v = res.headers.get(n);
    if (v) return decodeURIComponent(v);
  }
  throw new ObscuraError('pccs_error', `the ${what} response has no ${names[0]} header`, 502);
}

/** A CRL body as DER, whether the server sent DER, hex text or PEM. */
export function crlBody(body: Buffer): Buffer {
  const text = body.toString('latin1').trim();
  if (/^([0-9a-fA-F]{2})+$/.test(text)) return Buffer.from(text, 'hex');
  const pem = text.match(/-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]+)-----END X509 CRL-----/);
  if (pem?.[1]) return Buffer.from(pem[1].replace(/\s+/g, ''), 'base64');
  return body;
}

function skipValue(s: string, i: number): number {
  const open = s[i];
  if (open === '"') {
    for (i++; i < s.length; i++) {
      if (s[i] === '\\') i++;
      else if (s[i] === '"') return i + 1;
    }
    return -1;
  }
  if (open === '{' || open === '[') {
    let depth = 0;
    for (; i < s.length; i++) {
      const c = s[i];
      if (c === '"') i = skipValue(s, i) - 1;
      else if (c === '{' || c === '[') depth++;
      else if ((c === '}' || c === ']') && --depth === 0) return i + 1;
    }
    return -1;
  }
  const m = /^[^,}\]\s]+/.exec(s.slice(i));
  return m ? i + m[0].length : -1;
}

/** The exact text of a top-level member's value in a JSON object (signatures cover bytes). */
export function rawJsonMember(text: string, key: string): string | undefined {
  JSON.parse(text); // reject anything that is not JSON first
  const ws = (i: number) => {
    while (/\s/.test(text[i] ?? '')) i++;
    return i;
  };
  let i = ws(0);
  if (text[i] !== '{') return undefined;
  i = ws(i + 1);
  while (text[i] === '"') {
    const keyEnd = skipValue(text, i);
    const name = JSON.parse(text.slice(i, keyEnd)) as string;
    i = ws(ws(keyEnd) + 1); // past ':'
    const end = skipValue(text, i);
    if (end < 0) return undefined;
    if (name === key) return text.slice(i, end);
    i = ws(end);
    if (text[i] === ',') i = ws(i + 1);
  }
  return undefined;
}

async function signedJson(
  res: Response,
  member: string,
  what: string,
): Promise<{ body: string; signature: string }> {
  const text = await res.text();
  let signature: unknown;
  let body: string | undefined;
  try {
    signature = (JSON.parse(text) as Record<string, unknown>).signature;
    body = rawJsonMember(text, member);
  } catch {
    throw new ObscuraError('pccs_error', `the ${what} is not JSON`, 502);
  }
  if (!body || typeof signature !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(signature)) {
    throw new ObscuraError('pccs_error', `the ${what} lacks "${member}" or a hex "signature"`, 502);
  }
  return { body, signature: signature.toLowerCase() };
}

/** Fetch the collateral for one platform kind from a PCCS (or Intel's PCS). */
export async function fetchCollateral(
  pccsUrl: string,
  key: CollateralKey,
  opts: PccsFetchOptions = {},
): Promise<Collateral> {
  const base = normalizePccsUrl(pccsUrl);
  const api = (tee: string, path: string) => `${base}/${tee}/certification/v4/${path}`;

  const crlRes = await get(api('sgx', `pckcrl?ca=${key.ca}&encoding=der`), 'PCK CRL', opts);
  const pckCrlIssuerChain = header(crlRes, ['SGX-PCK-CRL-Issuer-Chain'], 'PCK CRL');
  const pckCrl = crlBody(Buffer.from(await crlRes.arrayBuffer()));

  const tcbRes = await get(api(key.tee, `tcb?fmspc=${key.fmspc.toUpperCase()}`), 'TCB info', opts);
  const tcbIssuerChain = header(tcbRes, ['TCB-Info-Issuer-Chain', 'SGX-TCB-Info-Issuer-Chain'], 'TCB info');
  const tcb = await signedJson(tcbRes, 'tcbInfo', 'TCB info');

  const qeRes = await get(api(key.tee, 'qe/identity?update=standard'), 'QE identity', opts);
  const qeIssuerChain = header(
    qeRes,
    ['SGX-Enclave-Identity-Issuer-Chain', 'Enclave-Identity-Issuer-Chain'],
    'QE identity',
  );
  const qe = await signedJson(qeRes, 'enclaveIdentity', 'QE identity');

  // Intel's PCS does not serve the root CA CRL; a PCCS does (as hex). Either way it is signed.
  let rootCrl: Buffer | undefined;
  if (!base.startsWith(INTEL_PCS_URL)) {
    try {
      rootCrl = crlBody(
        Buffer.from(await (await get(api('sgx', 'rootcacrl'), 'root CA CRL', opts)).arrayBuffer()),
      );
    } catch {
      rootCrl = undefined;
    }
  }
  rootCrl ??= Buffer.from(await (await get(INTEL_ROOT_CA_CRL_URL, 'root CA CRL', opts)).arrayBuffer());

  return {
    pck_crl_issuer_chain: pckCrlIssuerChain,
    root_ca_crl: rootCrl.toString('hex'),
    pck_crl: pckCrl.toString('hex'),
    tcb_info_issuer_chain: tcbIssuerChain,
    tcb_info: tcb.body,
    tcb_info_signature: tcb.signature,
    qe_identity_issuer_chain: qeIssuerChain,
    qe_identity: qe.body,
    qe_identity_signature: qe.signature,
  };
}
