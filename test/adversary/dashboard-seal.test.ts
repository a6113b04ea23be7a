// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators (innerText waits for layout), not DOM nodes
/**
 * Attack: a host that wants an owner's data sealed to a key it holds, or to an enclave the
 * owner did not accept, or the key or rows themselves. The owner seals and uploads a CSV in
 * the page, in a real browser; the page checks the worker's attestation itself and refuses
 * before reading the file when it fails (a simulated TEE not accepted; evidence whose keys
 * the host swapped; old evidence replayed for a new nonce; a measurement the owner did not
 * list). Promise broken if any of them uploads. Then the page seals with the
 * age format in the page, signs the manifest with the key it read, and uploads. The file is
 * accepted by the real enclave (in-process: it decrypts and checks every commitment), and a
 * file the page sealed to a recipient whose identity the test holds opens with the `age`
 * tool to the same bytes. No request carries the key or the plaintext. One page load.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollateralSource } from '../../src/attestation/dcap/source.ts';
import { simulatedEvidence } from '../../src/attestation/simulated.ts';
import { type AccountKey, createKeyFile, loadAccountKey } from '../../src/crypto/index.ts';
import { EnclaveClient } from '../../src/host/enclave-client.ts';
import { EnclaveDouble, startTestApp, type TestApp } from '../helpers/app.ts';
import { launchBrowser, openPage, screenshot, type WatchedPage } from '../helpers/browser.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';
import { collateral, fixture, SGX_AT, TDX_AT } from '../attestation/dcap-fixtures.ts';

const AGE = '/usr/bin/age';
const hasAge = existsSync(AGE) && existsSync(`${AGE}-keygen`);
const MARKER = 'diagnosis-zz-';
// Over 64 KiB, so the age payload has several STREAM chunks; decimals and a marker per row.
const CSV = `id,region,cost,note\n${Array.from(
  { length: 3000 },
  (_, i) => `${i},${i % 3 ? 'north' : 'south'},${(i * 1.25).toFixed(2)},${MARKER}${i}`,
).join('\n')}\n`;

const work = mkdtempSync(join(tmpdir(), 'obscura-dash-seal-'));
let app: TestApp;
let browser: Browser;
let enclave: EnclaveClient;
let owner: AccountKey;
let analyst: AccountKey;
/** The page's upload to the double, as the host staged it, opened by `age -d`. */
const opened: Buffer[] = [];
// A second worker whose recipient's identity the test holds (age-keygen), attested by a
// simulated authority of its own; it opens what it is sent with the `age` tool.
const double: EnclaveDouble = new EnclaveDouble('age-tool', {
  attest: ({ nonce }) => ({
    evidence: simulatedEvidence({
      dataDir: join(work, 'double-tee'),
      workerId: 'age-tool',
      measurement: double.info.measurement,
      keys: double.info.keys,
      nonce,
    }),
  }),
  validate_dataset: ({ input }) => {
    opened.push(execFileSync(AGE, ['-d', '-i', join(work, 'age.key'), input.blobPath]));
    return { rows: input.manifest.manifest.rows, schema: input.manifest.manifest.schema };
  },
});

/** A hardware worker answering with Intel's sample quote (test/fixtures/dcap) for any nonce. */
function hardware(tee: 'sgx' | 'tdx'): EnclaveDouble {
  const id = `hw-${tee}`;
  const provider = tee === 'sgx' ? 'sgx-gramine' : 'tdx-configfs';
  const d: EnclaveDouble = new EnclaveDouble(id, {
    attest: ({ nonce }) => ({
      evidence: {
        tee,
        provider,
        quote: fixture(`${tee}_quote`).toString('hex'),
        nonce,
        keys: d.info.keys,
        workerId: id,
      },
    }),
  });
  Object.assign(d.info, { tee, provider, measurementSource: 'hardware' });
  return d;
}
const hwSgx = hardware('sgx');
const hwTdx = hardware('tdx');
// What the host relays: the fixtures' own collateral (a PCCS would give the same documents).
const fixtureSource: CollateralSource = {
  collateralFor: async (q) => ({ collateral: collateral(q.tee), origin: 'test fixture' }),
};

beforeAll(async () => {
  writeFileSync(join(work, 'data.csv'), CSV);
  if (hasAge) {
    execFileSync(`${AGE}-keygen`, ['-o', join(work, 'age.key')], { stdio: 'ignore' });
    const text = readFileSync(join(work, 'age.key'), 'utf8');
    double.info.keys.recipient = /public key: (age1\S+)/.exec(text)?.[1] ?? '';
  }
  await Promise.all([createKeyFile(join(work, 'owner.key')), createKeyFile(join(work, 'analyst.key'))]);
  [owner, analyst] = await Promise.all([
    loadAccountKey(join(work, 'owner.key')),
    loadAccountKey(join(work, 'analyst.key')),
  ]);
  enclave = await EnclaveClient.start({
    dataDir: join(work, 'enclave'),
    workerId: 'worker-1',
    spawn: inProcessEnclave,
  });
  // The real enclave answers what the API asks of a worker, as the double does.
  [app, browser] = await Promise.all([
    startTestApp({ enclaves: [enclave as unknown as EnclaveDouble, double, hwSgx, hwTdx] }),
    launchBrowser(),
  ]);
  app.ctx.collateral = fixtureSource;
});
afterAll(async () => {
  await Promise.all([browser?.close(), app?.close(), enclave?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

/** Fill the form for `worker` and press the button; resolves to the outcome's data-state. */
async function sealTo(
  w: WatchedPage,
  worker: string,
  simulatedOk: boolean,
  measurements?: string,
): Promise<string> {
  const { page } = w;
  await page.locator('#seal-worker').selectOption(worker); // fills in the listing's measurement
  if (measurements !== undefined) await page.locator('#seal-measurements').fill(measurements);
  await page.locator('#seal-file').setInputFiles(join(work, 'data.csv'));
  await page.locator('#seal-analysts').fill(analyst.address);
  await page.locator('#seal-simulated').setChecked(simulatedOk);
  const out = page.locator('#seal-out');
  await out.evaluate((el) => el.removeAttribute('data-state'));
  await page.getByRole('button', { name: 'Verify worker, seal and upload' }).click();
  await page
    .locator('#seal-out[data-state="done"], #seal-out[data-state="refused"], #seal-out[data-state="failed"]')
    .waitFor();
  return (await out.getAttribute('data-state')) ?? '';
}

const uploads = (w: WatchedPage) =>
  w.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/v1/datasets'));

describe('an owner sealing a CSV in the page', () => {
  it('refuses a failed attestation before any upload, then seals, signs and uploads', async () => {
    const w = await openPage(browser, `${app.url}/`);
    const { page } = w;
    await page.locator('#keyfile').setInputFiles(join(work, 'owner.key'));
    await page.locator('#seal-body button').waitFor();

    // A simulated TEE the owner did not accept.
    expect(await sealTo(w, 'worker-1', false)).toBe('refused');
    expect(await page.locator('#seal-out').innerText()).toMatch(/✗?\s*a simulated TEE is accepted/);
    // A host that swaps in its own recipient: the report no longer binds the keys.
    const swap = async (route: Route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { evidence: { keys: { recipient: string } } };
      body.evidence.keys.recipient = double.info.keys.recipient;
      await route.fulfill({ response: res, json: body });
    };
    await page.route('**/v1/workers/worker-1/attestation*', swap);
    expect(await sealTo(w, 'worker-1', true)).toBe('refused');
    expect(await page.locator('#seal-out').innerText()).toContain('report binds the keys');
    await page.unroute('**/v1/workers/worker-1/attestation*', swap);
    // Old evidence replayed: genuine and signed, but for another nonce.
    let old: unknown;
    const replay = async (route: Route) => {
      const res = await route.fetch();
      old ??= await res.json();
      await route.fulfill({ response: res, json: old });
    };
    await page.route('**/v1/workers/worker-1/attestation*', replay);
    expect(await sealTo(w, 'worker-1', false)).toBe('refused'); // records fresh evidence
    expect(await sealTo(w, 'worker-1', true)).toBe('refused');
    expect(await page.locator('#seal-out').innerText()).toMatch(
      /✗\s*(failed:)?\s*report nonce equals the nonce we sent/,
    );
    await page.unroute('**/v1/workers/worker-1/attestation*', replay);
    // A measurement the owner did not list.
    expect(await sealTo(w, 'worker-1', true, 'cd'.repeat(32))).toBe('refused');
    expect(await page.locator('#seal-out').innerText()).toMatch(
      /✗\s*(failed:)?\s*measurement is one you accept/,
    );
    expect(uploads(w)).toEqual([]);

    // The real enclave opens the page's file and checks it against the signed manifest.
    expect(await sealTo(w, 'worker-1', true)).toBe('done');
    const id = (await page.locator('#seal-out').getAttribute('data-dataset')) ?? '';
    const record = app.ctx.metadata.dataset(id);
    expect(record.owner).toBe(owner.address);
    expect(record.rows).toBe(3000);
    const m = record.manifest.manifest;
    expect(m.schema.map((c) => `${c.name}:${c.type}`)).toEqual([
      'id:int64',
      'region:string',
      'cost:float64',
      'note:string',
    ]);
    expect(m.plaintext).toEqual({
      sha256: createHash('sha256').update(CSV).digest('hex'),
      bytes: Buffer.byteLength(CSV),
    });
    expect(m.analysts).toEqual([analyst.address]);
    expect(m.resultRecipient).toBe(owner.resultRecipient);
    await screenshot(page, 'owner-sealed-upload');

    if (hasAge) {
      expect(await sealTo(w, 'age-tool', true)).toBe('done');
      expect(opened.map((b) => b.toString('utf8'))).toEqual([CSV]);
    }

    // Only ciphertext went up: no request carried the key file's secrets or a row.
    const secrets = [
      readFileSync(join(work, 'owner.key'), 'utf8'),
      JSON.parse(readFileSync(join(work, 'owner.key'), 'utf8')).mnemonic as string,
    ];
    expect(uploads(w).length).toBe(hasAge ? 2 : 1);
    for (const r of w.requests) {
      const all = `${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`;
      expect(new URL(r.url).origin).toBe(new URL(app.url).origin);
      for (const s of [...secrets, MARKER]) expect(all.includes(s), `${r.method} ${r.url}`).toBe(false);
    }
    // What the host stored is the sealed file, not the CSV.
    const stored = readFileSync(app.ctx.blobs.pathOf(m.ciphertext.sha256));
    expect(stored.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect(stored.includes(MARKER)).toBe(false);

    // A hardware worker's quote is verified in the page itself, with collateral the host
    // relays, at a time inside the collateral's window (the page's clock, set here). Intel's
    // sample quotes do not bind this test's nonce, so the field comparisons fail; what is
    // asserted is the page's own verification of the quote.
    const check = async (id: string, at: number): Promise<string> => {
      await page.clock.setFixedTime(at * 1000);
      const card = page.locator('#workers-body article').filter({ hasText: id });
      await card.getByRole('button', { name: `Check attestation of worker ${id}` }).click();
      await card.getByText(/Evidence (consistent|MISMATCH)/).waitFor();
      const text = await card.innerText();
      await card.locator('[aria-live]').evaluate((el) => el.replaceChildren());
      return text;
    };
    const signature = (ok: boolean) =>
      new RegExp(`${ok ? '✓' : '✗'}\\s*(passed:|failed:)?\\s*quote signature chain up to Intel’s root CA`);
    const tdx = await check('hw-tdx', TDX_AT);
    expect(tdx).toMatch(signature(true));
    expect(tdx).toMatch(/✓\s*(passed:)?\s*TCB status is UpToDate \(checked here\)\s*— UpToDate/);
    expect(tdx).toMatch(/✓\s*(passed:)?\s*Intel collateral is current/);
    const sgx = await check('hw-sgx', SGX_AT);
    expect(sgx).toMatch(signature(true));
    expect(sgx).toMatch(
      /✗\s*(failed:)?\s*TCB status is UpToDate \(checked here\)\s*— ConfigurationAndSWHardeningNeeded/,
    );
    // The same collateral at a time after it expired: refused.
    expect(await check('hw-tdx', 1_900_000_000)).toMatch(/✗\s*(failed:)?\s*Intel collateral is current/);
    // One flipped byte in the quote's signed body, then in the collateral's TCB info signature.
    const tamper =
      (edit: (b: { evidence: { quote: string }; collateral: { tcb_info_signature: string } }) => void) =>
      async (route: Route) => {
        const res = await route.fetch();
        const body = await res.json();
        edit(body);
        await route.fulfill({ response: res, json: body });
      };
    const flip = (hex: string, at: number) =>
      `${hex.slice(0, at * 2)}${(Number.parseInt(hex.slice(at * 2, at * 2 + 2), 16) ^ 1).toString(16).padStart(2, '0')}${hex.slice(at * 2 + 2)}`;
    const flipQuote = tamper((b) => {
      b.evidence.quote = flip(b.evidence.quote, 200);
    });
    await page.route('**/v1/workers/hw-tdx/attestation*', flipQuote);
    expect(await check('hw-tdx', TDX_AT)).toMatch(signature(false));
    await page.unroute('**/v1/workers/hw-tdx/attestation*', flipQuote);
    const flipCollateral = tamper((b) => {
      b.collateral.tcb_info_signature = flip(b.collateral.tcb_info_signature, 10);
    });
    await page.route('**/v1/workers/hw-tdx/attestation*', flipCollateral);
    expect(await check('hw-tdx', TDX_AT)).toMatch(signature(false));
    await page.unroute('**/v1/workers/hw-tdx/attestation*', flipCollateral);
    expect(await check('hw-tdx', TDX_AT)).toMatch(signature(true));
    // Sealing to a hardware worker runs the same checks: the SGX sample's TCB is refused with
    // no tick to stand in; without collateral only the labelled fallback (unticked) remains.
    await page.clock.setFixedTime(SGX_AT * 1000);
    expect(await sealTo(w, 'hw-sgx', false)).toBe('refused');
    const sealed = await page.locator('#seal-out').innerText();
    expect(sealed).toMatch(/✗\s*(failed:)?\s*TCB status is UpToDate/);
    expect(sealed).not.toContain('fallback');
    const withhold = tamper((b) => {
      delete (b as { collateral?: unknown }).collateral;
    });
    await page.route('**/v1/workers/hw-sgx/attestation*', withhold);
    expect(await sealTo(w, 'hw-sgx', false)).toBe('refused');
    expect(await page.locator('#seal-out').innerText()).toMatch(
      /✗\s*(failed:)?\s*fallback: quote signature and TCB verified with obscura attest/,
    );
    await page.unroute('**/v1/workers/hw-sgx/attestation*', withhold);
    expect(uploads(w).length).toBe(hasAge ? 2 : 1);
    expect(w.errors).toEqual([]);
    await page.context().close();
  });
});
