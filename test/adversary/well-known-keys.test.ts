/**
 * Attack: sign as a well-known development key. //Alice's secret is public (it is derived
 * from the Substrate dev phrase every tool ships), and it was the default operator: a
 * `POST /v1/upgrades` signed by //Alice was accepted and anchored, and the enclave handed
 * its identity over against any anchored authorisation, whoever signed it. The promise it
 * would break: only the operators a worker was given at its first start can authorise an
 * upgrade of its code, and no operator is a key anyone can sign with. So a fresh data
 * directory's operator is a key made there (mode 0600); development keys are refused as
 * operators by the host and by the enclave; the host refuses //Alice's upgrade request; the
 * enclave refuses an authorisation signed by //Alice even when a hostile host anchored it
 * itself, and a later host cannot add operators to it. Real host, chain and enclaves.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAddress } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost } from '../../src/host/api/host.ts';
import { ChainClient } from '../../src/chain/index.ts';
import { loadOrCreateOperatorKey } from '../../src/host/chain/index.ts';
import { ApiClient } from '../../src/cli/client.ts';
import { DEV_PHRASE, isDevelopmentAccount } from '../../src/crypto/dev-keys.ts';
import { type AccountKey, accountKeyFromSuri, loadAccountKey } from '../../src/crypto/index.ts';
import { EnclaveClient } from '../../src/host/enclave-client.ts';
import { computeMeasurement } from '../../src/contracts/measurement.ts';
import {
  signUpgradeAuthorization,
  upgradeAuthorizationRecord,
} from '../../src/contracts/upgrade-authorization.ts';
import { obscura } from '../helpers/cli.ts';
import { startTestHost } from '../helpers/host.ts';
import { refusal } from '../helpers/datasets.ts';
import { upgradedTree } from '../helpers/tree.ts';
import { compiledEnclave } from '../helpers/compiled-enclave.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';
import { workerChain } from '../helpers/worker-chain.ts';

const work = mkdtempSync(join(tmpdir(), 'obscura-well-known-'));
let alice: AccountKey;
let bob: AccountKey;
beforeAll(async () => {
  alice = await accountKeyFromSuri('//Alice');
  bob = await accountKeyFromSuri(`${DEV_PHRASE}//Bob`);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a fresh host', () => {
  let t: Awaited<ReturnType<typeof startTestHost>>;
  beforeAll(async () => {
    t = await startTestHost({ enclaveSpawn: inProcessEnclave });
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  it('has an operator key of its own, made in the data directory with mode 0600, and no development key among its operators', async () => {
    const path = join(t.dataDir, 'operator.key');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const operator = await loadAccountKey(path);
    expect(t.host.operatorAddress).toBe(operator.address);
    expect(t.host.operators).toEqual([operator.address]);
    for (const a of t.host.operators) expect(await isDevelopmentAccount(a)).toBe(false);
    expect(t.host.operators).not.toContain(alice.address);
  });

  it("anchors with that key and accepts its operator's upgrade authorisation", async () => {
    const operator = await loadAccountKey(join(t.dataDir, 'operator.key'));
    const a = (await new ApiClient(t.host.url, operator).post(
      '/v1/upgrades',
      signUpgradeAuthorization('1'.repeat(64), '2'.repeat(64), operator),
    )) as {
      receipt: { signer: string };
    };
    expect(Buffer.from(decodeAddress(a.receipt.signer))).toEqual(
      Buffer.from(decodeAddress(operator.address)),
    );
  }, 60_000);

  it('refuses an upgrade authorisation signed by //Alice', async () => {
    const e = await refusal(
      new ApiClient(t.host.url, alice).post(
        '/v1/upgrades',
        signUpgradeAuthorization('1'.repeat(64), '3'.repeat(64), alice),
      ),
    );
    expect(e).toMatchObject({ status: 403, code: 'not_operator' });
    const upgrades = (await new ApiClient(t.host.url, alice).get('/v1/upgrades')) as {
      upgrades: { to: string }[];
    };
    expect(upgrades.upgrades.map((u) => u.to)).not.toContain('3'.repeat(64));
  });
});

describe('development keys are refused as operators', () => {
  it.each([
    ['//Alice', '//Alice'],
    ['the dev phrase', DEV_PHRASE],
    ['the dev phrase with //Bob', `${DEV_PHRASE}//Bob`],
    ['//Charlie//stash', '//Charlie//stash'],
  ])('OBSCURA_OPERATOR_SURI = %s', async (_name, suri) => {
    const e = await refusal(
      startHost({
        dataDir: join(work, `suri-${randomBytes(4).toString('hex')}`),
        port: 0,
        chainPort: 0,
        operatorSuri: suri,
      }),
    );
    expect(e).toMatchObject({
      code: 'operator_well_known',
      message: expect.stringMatching(/^OBSCURA_OPERATOR_SURI is a well-known development key/),
    });
    expect(e.message).not.toContain(DEV_PHRASE);
  });

  it('OBSCURA_OPERATORS naming //Alice or //Bob (any SS58 prefix)', async () => {
    for (const address of [alice.address, bob.address, '15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5']) {
      const e = await refusal(
        startHost({
          dataDir: join(work, `ops-${randomBytes(4).toString('hex')}`),
          port: 0,
          chainPort: 0,
          operators: [address],
        }),
      );
      expect(e).toMatchObject({
        code: 'operator_well_known',
        message: expect.stringContaining('OBSCURA_OPERATORS names'),
      });
    }
  });

  it('obscura serve with OBSCURA_OPERATOR_SURI=//Alice exits with a clear error', async () => {
    const r = await obscura(
      ['serve', '--data-dir', join(work, 'serve'), '--port', '0', '--chain-port', '0'],
      { cwd: work, env: { OBSCURA_OPERATOR_SURI: '//Alice' } },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/well-known development key.*\(operator_well_known\)/);
  }, 60_000);

  it('an enclave refuses to start with a development account as an operator', async () => {
    const e = await refusal(
      EnclaveClient.start({
        dataDir: join(work, 'enclave-dev'),
        workerId: 'w',
        operators: [alice.address],
        spawn: compiledEnclave,
      }),
    );
    expect(e).toMatchObject({
      code: 'enclave_start_failed',
      message: expect.stringContaining('operator_well_known'),
    });
  }, 60_000);
});

describe('the enclave checks who signed an upgrade authorisation', () => {
  const dataDir = join(work, 'handover');
  const enclaves: EnclaveClient[] = [];
  let client: ChainClient;
  let operator: AccountKey;
  let newRoot: string;
  afterAll(async () => {
    await Promise.all(enclaves.map((e) => e.stop()));
    await client?.close();
    if (newRoot) rmSync(newRoot, { recursive: true, force: true });
  });

  it('refuses //Alice even when a hostile host anchored the authorisation, ignores operators a later host adds, honours its own operator', async () => {
    // The hostile host has everything a host has: the data directory, its operator key, the chain.
    const op = await loadOrCreateOperatorKey(dataDir);
    operator = await loadAccountKey(op.path);
    const chain = await workerChain();
    client = await ChainClient.connect(chain.endpoint, { operatorSuri: op.suri });
    await client.requestFunds(op.address);
    const logs: string[] = [];
    const opts = {
      dataDir,
      workerId: 'w',
      chainEndpoint: chain.endpoint,
      log: (_l: string, m: string) => logs.push(m),
      // The real enclave process, from the compiled build when it is fresh (each code tree's own).
      spawn: compiledEnclave,
    };
    // First start: the identity is made and keeps the operators named then.
    await (await EnclaveClient.start({ ...opts, operators: [operator.address] })).stop();
    // A later host names another account (an ordinary one: a development one stops the enclave); the enclave ignores it, and says so.
    const stranger = await accountKeyFromSuri(`0x${randomBytes(32).toString('hex')}`);
    const old = await EnclaveClient.start({ ...opts, operators: [operator.address, stranger.address] });
    enclaves.push(old);
    expect(logs.join('\n')).toMatch(
      /the host names 1 operator\(s\) this identity was not given at first start .*ignored/,
    );
    newRoot = upgradedTree('well-known-keys');
    const newcomer = await EnclaveClient.start({ ...opts, root: newRoot, operators: [operator.address] });
    enclaves.push(newcomer);
    const M1 = computeMeasurement();
    const M2 = computeMeasurement(newRoot);
    expect([old.info.measurement, newcomer.info.measurement]).toEqual([M1, M2]);

    const handover = async (signer: AccountKey) => {
      const statement = signUpgradeAuthorization(M1, M2, signer);
      const [receipt] = await client.anchor([upgradeAuthorizationRecord(statement)]);
      const nonce = randomBytes(32).toString('hex');
      const { evidence } = await newcomer.request('attest', { nonce });
      return old.request('handover_export', {
        evidence,
        nonce,
        measurement: M2,
        statement,
        authorization: receipt as NonNullable<typeof receipt>,
      });
    };
    const refused = await refusal(handover(alice));
    expect(refused).toMatchObject({
      code: 'handover_refused',
      message: expect.stringMatching(
        /signed by 5\w+, which is not one of the 1 operator\(s\) this enclave was given at first start/,
      ),
    });
    const extra = await refusal(handover(stranger));
    expect(extra).toMatchObject({ code: 'handover_refused' });
    // The same request signed by the operator it was given succeeds: the check is the signer.
    const { sealedIdentity } = await handover(operator);
    expect(sealedIdentity.length).toBeGreaterThan(0);
  }, 240_000);
});
