// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators (innerText waits for layout), not DOM nodes
/**
 * Attack: the API host points `obscura verify` at a chain of its own making. Before the fix,
 * verify without --chain silently used whatever endpoint the host's /v1/health named, and
 * nothing tied the chain it connected to to the one the user trusts. The promise it would
 * break: an auditor checks a result against the chain *they* choose (--chain,
 * OBSCURA_VERIFY_CHAIN or their config file), its genesis and block #1 hashes must be the
 * ones the result's provenance names (and those the user pinned), and a fallback to the
 * host's endpoint is announced with a WARN line.
 * The dashboard makes the same promise in the page: a reader types the chain endpoint, and
 * the page checks the anchor there itself (passes on the host's chain, fails on another).
 * Runs a real host, a second embedded chain, the real CLI and chromium.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainClient } from '../../src/chain/index.ts';
import { type EmbeddedChain, startEmbeddedChain } from '../../src/host/chain/index.ts';
import { ApiClient } from '../../src/cli/client.ts';
import { submitJob } from '../../src/client/job-request.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import { JobRecordSchema } from '../../src/contracts/api-records.ts';
import { launchBrowser, openPage, screenshot } from '../helpers/browser.ts';
import { obscura } from '../helpers/cli.ts';
import { resultList, serveApi } from '../helpers/dashboard-fixtures.ts';
import { type DataHost, startDataHost } from '../helpers/data-host.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';
import { finished } from '../helpers/jobs.ts';

const PIPELINE = `obscura: 1
name: count-by-region
inputs: { visits: { columns: { region: string } } }
steps:
  - id: by_region
    aggregate: { from: visits, group_by: [region], measures: { n: { count: "*" } } }
outputs: { by_region: { min_group_size: 1 } }
`;

const work = mkdtempSync(join(tmpdir(), 'obscura-verify-chain-'));
let testHost: DataHost;
let other: EmbeddedChain;
let docPath: string;
let otherIdentity: { genesisHash: string; block1Hash: string };

/** `obscura verify --file <doc>` with no chain settings inherited from the environment running the tests. */
function verify(args: string[], env: Record<string, string> = {}) {
  return obscura(['verify', '--file', docPath, '--allow-simulated', '--api', testHost.host.url, ...args], {
    cwd: work,
    env: { XDG_CONFIG_HOME: join(work, 'no-config'), ...env },
  });
}

beforeAll(async () => {
  testHost = await startDataHost({ enclaveSpawn: inProcessEnclave });
  other = await startEmbeddedChain({ dataDir: join(work, 'other-chain'), port: 0 });
  const probe = await ChainClient.connect(other.endpoint);
  otherIdentity = await probe.identity();
  await probe.close();
  const owner: AccountKey = await accountKeyFromSuri('//VerifyChainOwner');
  const analyst: AccountKey = await accountKeyFromSuri('//VerifyChainAnalyst');
  const { dataset } = await testHost.seal({ owner, analysts: [analyst] });
  const api = new ApiClient(testHost.host.url, analyst);
  let job = JobRecordSchema.parse(
    await submitJob(api, analyst, { pipeline: PIPELINE, inputs: { visits: dataset } }),
  );
  job = await finished(testHost.host.url, analyst, job);
  if (!job.result) throw new Error(`job failed: ${JSON.stringify(job.error)}`);
  docPath = join(work, 'result.json');
  writeFileSync(docPath, JSON.stringify(await api.get(`/v1/results/${job.result}`)));
}, 240_000);

afterAll(async () => {
  await other?.close();
  await testHost?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('verify pins the chain', () => {
  it('passes on the chain the user names, without a warning', async () => {
    const r = await verify(['--chain', testHost.host.chainEndpoint]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/✓ chain identity/);
    expect(r.stderr).not.toMatch(/WARN/);
  }, 60_000);

  it('fails against another chain given by --chain, naming both chains', async () => {
    const r = await verify(['--chain', other.endpoint]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ chain identity: the result names chain .* but the chain checked against is/);
    expect(r.stdout).toMatch(/FAILED verification/);
  }, 60_000);

  it('takes the chain from OBSCURA_VERIFY_CHAIN and from the config file, before the host', async () => {
    const fromEnv = await verify([], { OBSCURA_VERIFY_CHAIN: other.endpoint });
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stdout).toMatch(/✗ chain identity/);
    expect(fromEnv.stderr).not.toMatch(/WARN/);
    const config = join(work, 'config.json');
    writeFileSync(config, JSON.stringify({ verify: { chain: other.endpoint } }));
    const fromConfig = await verify(['--config', config]);
    expect(fromConfig.code).toBe(1);
    expect(fromConfig.stdout).toMatch(/✗ chain identity/);
    expect(fromConfig.stderr).not.toMatch(/WARN/);
  }, 90_000);

  it("fails when the chain's hashes are not the ones the user pinned", async () => {
    const config = join(work, 'pinned.json');
    writeFileSync(
      config,
      JSON.stringify({
        verify: { genesisHash: otherIdentity.genesisHash, block1Hash: otherIdentity.block1Hash },
      }),
    );
    const r = await verify(['--chain', testHost.host.chainEndpoint, '--config', config]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ chain identity: the chain's block #1 0x[0-9a-f]{64} is not the pinned/);
    const badGenesis = await verify([
      '--chain',
      testHost.host.chainEndpoint,
      '--genesis',
      `0x${'ab'.repeat(32)}`,
    ]);
    expect(badGenesis.code).toBe(1);
    expect(badGenesis.stdout).toMatch(/genesis hash 0x[0-9a-f]{64} is not the pinned 0x(ab){32}/);
    const malformed = await verify(['--chain', testHost.host.chainEndpoint, '--genesis', 'abc']);
    expect(malformed.code).not.toBe(0);
    expect(malformed.stderr).toMatch(/verify_genesis_invalid/);
  }, 90_000);

  it("warns loudly when it falls back to the host's chain", async () => {
    const r = await verify([]);
    expect(r.stderr).toMatch(
      new RegExp(
        `^WARN: checking the anchor on the chain the API host names \\(${testHost.host.chainEndpoint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\), which the host controls`,
        'm',
      ),
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const json = await verify(['--json']);
    expect(json.stderr).toMatch(/^WARN: /m);
    expect(JSON.parse(json.stdout).chain).toMatchObject({
      source: 'host',
      warning: expect.stringMatching(/^WARN/),
    });
  }, 90_000);

  it('refuses a config file that does not parse, naming it', async () => {
    const config = join(work, 'broken.json');
    writeFileSync(config, JSON.stringify({ verify: { chain: 'http://not-a-ws' } }));
    const r = await verify(['--config', config]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(config);
    expect(r.stderr).toMatch(/config_invalid/);
  }, 60_000);
});

describe('the dashboard checks the anchor on the chain the reader names', () => {
  it('passes on the chain that holds it and fails on another, in the page', async () => {
    const doc = JSON.parse(readFileSync(docPath, 'utf8')) as Record<string, unknown>;
    const id = String(doc.id);
    const browser = await launchBrowser();
    try {
      // The result as its reader's host serves it (the page would sign in to read it).
      const w = await openPage(browser, `${testHost.host.url}/#result=${id}`, {
        setup: (p) => serveApi(p, { '/v1/results': resultList(doc), [`/v1/results/${id}`]: doc }),
      });
      const { page } = w;
      const check = async (endpoint: string): Promise<string> => {
        await page.locator('#chain-endpoint').fill(endpoint);
        await page.getByRole('button', { name: 'check on this chain' }).click();
        await page.locator('#chain-out[data-ok]').waitFor({ timeout: 60_000 });
        return (await page.locator('#chain-out').getAttribute('data-ok')) ?? '';
      };
      expect(await check(testHost.host.chainEndpoint)).toBe('true');
      const passed = await page.locator('#chain-out').innerText();
      expect(passed).toMatch(/anchored on this chain/);
      expect(passed).toMatch(/merkle/);
      await screenshot(page, 'result-chain-check');
      expect(await check(other.endpoint)).toBe('false');
      expect(await page.locator('#chain-out').innerText()).toMatch(/NOT verified[\s\S]*✗?\s*chain/);
      expect(w.errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
