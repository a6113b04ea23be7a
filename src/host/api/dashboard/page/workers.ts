/**
 * Workers and the page's own attestation check: a fresh random nonce, the worker's evidence,
 * and the fields compared in the browser (nonce, keys, measurement; for a DCAP quote the
 * report data and registers at Intel's quote offsets; for a simulated report the authority's
 * signature and the key binding too). A hardware quote's signature chain, TCB status and
 * collateral are verified in the page too (quote-check.ts), with collateral the host relays.
 */
import { ed25519 } from '@noble/curves/ed25519';
import { hexToBytes } from '@noble/hashes/utils';
import {
  keysDigest as enclaveKeysDigest,
  SimulatedEvidenceSchema,
} from '../../../../attestation/evidence.ts';
import { canonicalJson } from '../../../../common/hash.ts';
import type { WorkerRecord } from '../../../../contracts/worker-record.ts';
import { ApiError, api, apiList, type Json, showError } from './api.ts';
import { $, dl, empty, h, hash, mark, num, short, simBadge, statusBadge, str, when } from './dom.ts';

/** One compared field: whether it holds, what it is, and what was seen. */
export type Check = [ok: boolean, name: string, detail: string];

/** 32 random bytes as hex. */
export function randomNonce(): string {
  const b = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

type QuoteFields = { tee: 'sgx' | 'tdx'; version: number; reportData: string; register: [string, string] };
/** The fields of a DCAP quote (hex) the page compares; offsets from Intel's layouts (SGX v3, TDX v4/v5). */
export function quoteFields(hex: unknown): QuoteFields | null {
  const q = /^(?:[0-9a-f]{2})+$/.test(str(hex)) ? str(hex) : '';
  const byte = (i: number) => Number.parseInt(q.slice(i * 2, i * 2 + 2), 16);
  const field = (i: number, n: number) => q.slice(i * 2, (i + n) * 2);
  const version = byte(0) | (byte(1) << 8);
  const body = version === 5 ? 54 : 48;
  const sgx = version === 5 ? (byte(48) | (byte(49) << 8)) === 1 : byte(4) === 0;
  if (q.length < (body + (sgx ? 384 : 584)) * 2) return null;
  return sgx
    ? {
        tee: 'sgx',
        version,
        reportData: field(body + 320, 64),
        register: ['MRENCLAVE', field(body + 64, 32)],
      }
    : { tee: 'tdx', version, reportData: field(body + 520, 64), register: ['MRTD', field(body + 136, 48)] };
}

/** SHA-256 (hex) of bytes, with WebCrypto (https or localhost), else null. */
export async function sha256Hex(data: Uint8Array): Promise<string | null> {
  if (!globalThis.crypto?.subtle) return null;
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
  return Array.from(d, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** SHA-256 of the enclave keys' canonical JSON (the first half of the report data). */
function keysDigest(keys: Json): Promise<string | null> {
  const text = JSON.stringify({ recipient: str(keys.recipient), signingKey: str(keys.signingKey) });
  return sha256Hex(new TextEncoder().encode(text));
}

/** The simulated authority's signature over the report, and the report's binding of the keys. */
function simulatedBinding(ev: Json): Check[] {
  const parsed = SimulatedEvidenceSchema.safeParse(ev);
  if (!parsed.success) return [[false, 'evidence is a simulated report', 'malformed evidence']];
  const e = parsed.data;
  let signed = false;
  try {
    signed = ed25519.verify(
      hexToBytes(e.signature),
      new TextEncoder().encode(canonicalJson(e.report)),
      hexToBytes(e.authorityKey),
    );
  } catch {
    signed = false;
  }
  return [
    [signed, 'report signed by the simulated authority', `authority ${short(e.authorityKey, 16)}`],
    [
      enclaveKeysDigest(e.keys) === e.report.keysDigest,
      'report binds the keys (recipient and signing key)',
      short(e.report.keysDigest, 16),
    ],
  ];
}

function simulatedItems(w: WorkerRecord, ev: Json, nonce: string): Check[] {
  const rep = (ev.report ?? {}) as Json;
  const keys = (ev.keys ?? {}) as Json;
  return [
    ...simulatedBinding(ev),
    [
      rep.nonce === nonce,
      'report nonce equals the nonce we sent',
      `sent ${short(nonce, 16)}, got ${short(rep.nonce, 16)}`,
    ],
    [rep.measurement === w.measurement, 'measurement matches the worker listing', short(rep.measurement, 16)],
    [
      keys.recipient === w.recipient && keys.signingKey === w.signingKey,
      'keys match the worker listing',
      'recipient and signing key',
    ],
    [rep.workerId === w.id, 'report names this worker', str(rep.workerId)],
  ];
}

async function quoteItems(w: WorkerRecord, ev: Json, nonce: string): Promise<Check[]> {
  const keys = (ev.keys ?? {}) as Json;
  const qf = quoteFields(ev.quote);
  const digest = await keysDigest(keys);
  const [reg, value] = qf ? qf.register : ['register', ''];
  const hw = w.hardware as Record<string, string> | undefined;
  const listed = hw ? (qf?.tee === 'sgx' ? hw.mrenclave : hw.mrtd) : undefined;
  const code = w.measurementSource !== 'hardware';
  return [
    [
      qf !== null && qf.tee === ev.tee && ev.tee === w.tee,
      'quote is of the TEE the worker lists',
      qf ? `${qf.tee.toUpperCase()} quote v${qf.version}` : 'not a DCAP quote',
    ],
    [ev.provider === w.provider, 'made by the provider the worker lists', str(ev.provider)],
    [
      ev.nonce === nonce,
      'evidence nonce equals the nonce we sent',
      `sent ${short(nonce, 16)}, got ${short(ev.nonce, 16)}`,
    ],
    [
      qf !== null && qf.reportData.slice(64) === nonce,
      'quote report data carries the nonce',
      short(qf?.reportData.slice(64), 16),
    ],
    digest === null
      ? [true, 'key digest in the report data', 'not checked here (WebCrypto needs https or localhost)']
      : [
          qf !== null && qf.reportData.slice(0, 64) === digest,
          'quote report data binds the listed keys',
          short(digest, 16),
        ],
    [
      keys.recipient === w.recipient && keys.signingKey === w.signingKey,
      'keys match the worker listing',
      'recipient and signing key',
    ],
    [listed === undefined || listed === value, `${reg} matches the worker listing`, short(value, 16)],
    [
      code || value === w.measurement,
      'measurement matches the quote',
      code ? 'code measurement (not in a TDX quote)' : `${reg} is the measurement`,
    ],
    [ev.workerId === w.id, 'evidence names this worker', str(ev.workerId)],
  ];
}

/** A hardware quote's verification in the page, or why the page could not run it. */
export type QuoteCheck = { checks: Check[] } | { unavailable: string };

/**
 * Ask `w` for fresh evidence and compare it; true when every check passed. For a hardware
 * quote, the page also verifies the quote itself (quote-check.ts, its own chunk) with the
 * collateral the host relays, at the page's clock; `quote` says what that found.
 */
export async function verifyWorker(
  w: WorkerRecord,
): Promise<{ ok: boolean; items: Check[]; ev: Json; quote?: QuoteCheck }> {
  const nonce = randomNonce();
  const a = await api(`/v1/workers/${encodeURIComponent(w.id)}/attestation?nonce=${nonce}&collateral=true`);
  const ev = (a.evidence ?? {}) as Json;
  if (ev.tee === 'simulated') {
    const items = simulatedItems(w, ev, nonce);
    return { ok: items.every((i) => i[0]), items, ev };
  }
  const fields = await quoteItems(w, ev, nonce);
  let quote: QuoteCheck;
  if (a.collateral === undefined) {
    quote = {
      unavailable: `the host relayed no Intel collateral (${str(a.collateralError) || 'none given'})`,
    };
  } else {
    const { checkQuoteHere } = await import('./quote-check.ts');
    quote = { checks: await checkQuoteHere(ev, a.collateral, nonce, Math.floor(Date.now() / 1000)) };
  }
  const items = 'checks' in quote ? [...fields, ...quote.checks] : fields;
  return { ok: items.every((i) => i[0]), items, ev, quote };
}

async function checkAttestation(w: WorkerRecord, out: HTMLElement, btn: HTMLButtonElement): Promise<void> {
  btn.disabled = true;
  out.replaceChildren(h('p', { class: 'muted' }, 'requesting evidence with a fresh nonce…'));
  try {
    const { ok, items, ev, quote } = await verifyWorker(w);
    const simulated = ev.tee === 'simulated';
    out.replaceChildren(
      h(
        'p',
        { class: 'row' },
        h('strong', {}, ok ? 'Evidence consistent' : 'Evidence MISMATCH'),
        simulated ? simBadge() : h('span', { class: 'badge' }, `tee ${str(ev.tee)}`),
        simulated
          ? h('span', { class: 'muted' }, `issued ${when((ev.report as Json | undefined)?.issuedAt)}`)
          : h('span', { class: 'muted' }, `${str(ev.provider)} · quote ${num(str(ev.quote).length / 2)} B`),
      ),
      h(
        'ul',
        { class: 'checks' },
        items.map(([good, name, detail]) =>
          h('li', {}, mark(good), ` ${name} `, h('span', { class: 'muted' }, `— ${detail}`)),
        ),
      ),
      simulated
        ? h(
            'p',
            { class: 'muted' },
            'The report signature and key binding are checked here; the simulated authority is a key in the host’s data directory, so this is not hardware attestation.',
          )
        : quote && 'unavailable' in quote
          ? h(
              'p',
              { class: 'muted' },
              `Field comparison only: ${quote.unavailable}, so the quote signature, certificates and TCB status are not checked here; run `,
              h('code', {}, 'obscura attest'),
              '.',
            )
          : h(
              'p',
              { class: 'muted' },
              'The quote was verified in this page against Intel collateral the host relayed (signed up to Intel’s root CA, which the page pins).',
            ),
    );
  } catch (e) {
    out.replaceChildren(
      h('p', { class: 'bad' }, e instanceof ApiError ? e.message : 'attestation check failed'),
    );
    showError(`Attestation of ${w.id}`, e);
  } finally {
    btn.disabled = false;
  }
}

/** The workers section. */
export async function loadWorkers(): Promise<void> {
  const body = $('workers-body');
  const workers = await apiList<WorkerRecord>('/v1/workers', 'workers');
  if (!workers.length) return void body.replaceChildren(empty('No workers.'));
  body.replaceChildren(
    ...workers.map((w) => {
      const out = h('div', { 'aria-live': 'polite' });
      const btn = h(
        'button',
        { type: 'button', 'aria-label': `Check attestation of worker ${w.id}` },
        'check attestation',
      ) as HTMLButtonElement;
      btn.addEventListener('click', () => void checkAttestation(w, out, btn));
      const hw = Object.entries((w.hardware ?? {}) as Record<string, unknown>).filter(([k]) => k !== 'tee');
      return h(
        'article',
        { class: 'card' },
        h('h3', { class: 'row' }, w.id, statusBadge(w.status), w.simulated ? simBadge() : null),
        dl([
          ['TEE', w.tee === w.provider ? w.tee : `${w.tee} (${w.provider})`],
          [
            'measurement',
            h(
              'span',
              {},
              h('code', {}, w.measurement),
              w.measurementSource === 'hardware' ? ' (MRENCLAVE)' : '',
            ),
          ],
          ...hw.map(([k, v]): [string, Node] => [k.toUpperCase(), hash(v, 24)]),
          [
            'sealing root',
            h(
              'span',
              {},
              h('code', {}, w.sealingRoot),
              w.sealingRoot === 'simulated-file'
                ? ' (SIMULATED: the data directory can unseal its keys)'
                : '',
            ),
          ],
          ['recipient', h('code', {}, w.recipient)],
          ['signing key', h('code', {}, w.signingKey)],
        ]),
        btn,
        out,
      );
    }),
  );
}
