/**
 * The whole story of the end-to-end issue, as a new user runs it: real server, embedded
 * chain and enclave processes, driven only through the `obscura` CLI. Also checks that the
 * CSV's marker value never reaches the data directory, the logs or any output, and that a
 * restart keeps datasets, results, the chain and the worker's key.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import { type CliRun, obscura, type Server, startServer } from '../helpers/cli.ts';
import { filesContaining } from '../helpers/leaks.ts';
import { freePort } from '../helpers/ports.ts';

const MARKER = 'MARKER-7f3a9c';
const work = mkdtempSync(join(tmpdir(), 'obscura-e2e-'));
const dataDir = join(work, 'data');
const outputs: string[] = [];
let server: Server;
let apiPort: number;
let chainPort: number;
let api: string;

async function cli(args: string[]): Promise<CliRun> {
  const r = await obscura([...args, '--api', api], { cwd: work });
  outputs.push(r.stdout, r.stderr);
  return r;
}

function serve(): Promise<Server> {
  return startServer(
    ['--data-dir', dataDir, '--port', String(apiPort), '--chain-port', String(chainPort)],
    work,
  );
}

beforeAll(async () => {
  apiPort = await freePort();
  chainPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  server = await serve();
}, 180_000);

afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('end to end: seal, upload, run in the enclave, signed result, anchored, verified', () => {
  const state: { owner?: string; analyst?: string; dataset?: string; result?: string; recipient?: string } =
    {};

  it('1. serve prints the API, the chain, the worker with its measurement and the data dir', () => {
    const out = server.output();
    expect(out).toContain(`API        ${api}`);
    expect(out).toContain(`ws://127.0.0.1:${chainPort}`);
    expect(out).toMatch(/worker\s+worker-1\s+tee=simulated \(simulated\)\s+measurement [0-9a-f]{64}/);
    expect(out).toContain(dataDir);
  });

  it('2. keys new writes 0600 key files and prints addresses', async () => {
    const owner = await cli(['keys', 'new', '--out', 'owner.key']);
    const analyst = await cli(['keys', 'new', '--out', 'analyst.key']);
    expect(owner.code).toBe(0);
    expect(analyst.code).toBe(0);
    state.owner = owner.stdout.trim();
    state.analyst = analyst.stdout.trim();
    expect(state.owner).toMatch(/^5[1-9A-HJ-NP-Za-km-z]{47}$/);
    expect(statSync(join(work, 'owner.key')).mode & 0o777).toBe(0o600);
    const again = await cli(['keys', 'new', '--out', 'owner.key']);
    expect(again.code).not.toBe(0);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('3. workers lists each worker; simulated evidence only with --allow-simulated', async () => {
    const ok = await cli(['workers', '--allow-simulated']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('worker-1');
    expect(ok.stdout).toMatch(/attestation\s+verified \(simulated\)/);
    state.recipient = /recipient\s+(age1[0-9a-z]+)/.exec(ok.stdout)?.[1];
    expect(state.recipient).toBeDefined();
    const refused = await cli(['workers']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('NOT verified');
    const json = JSON.parse((await cli(['workers', '--allow-simulated', '--json'])).stdout);
    expect(json.workers[0]).toMatchObject({
      id: 'worker-1',
      tee: 'simulated',
      attestation: { verified: true, simulated: true },
    });
  });

  it('4. seal verifies the worker, then seals; it refuses without --allow-simulated', async () => {
    const csv = join(PROJECT_ROOT, 'datasets/visits.csv');
    const refused = await cli([
      'seal',
      csv,
      '--worker',
      'worker-1',
      '--key',
      'owner.key',
      '--allow',
      state.analyst as string,
      '--out',
      'refused.sealed',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refusing to seal.*simulated/);
    const r = await cli([
      'seal',
      csv,
      '--worker',
      'worker-1',
      '--key',
      'owner.key',
      '--allow',
      state.analyst as string,
      '--allow-simulated',
      '--out',
      'visits.sealed',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('simulated');
    // The owner is told that the simulated worker's keys are readable from the host's disk.
    expect(r.stderr).toMatch(
      /^WARN: worker worker-1's sealing root is a file in the host's data directory \(simulated TEE\)/m,
    );
    const sealed = readFileSync(join(work, 'visits.sealed'));
    expect(sealed.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect(sealed.includes(Buffer.from(MARKER))).toBe(false);
  });

  it('5. upload prints the dataset id', async () => {
    const r = await cli(['upload', 'visits.sealed', '--key', 'owner.key']);
    expect(r.code, r.stderr).toBe(0);
    state.dataset = r.stdout.trim();
    expect(state.dataset).toMatch(/^[0-9a-f]{32}$/);
  });

  it('6. run --wait shows progress and prints the result id; a refused run exits non-zero', async () => {
    const pipeline = join(PROJECT_ROOT, 'pipelines/cost-by-region.yaml');
    const r = await cli([
      'run',
      pipeline,
      '--input',
      `visits=${state.dataset}`,
      '--key',
      'analyst.key',
      '--wait',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/succeeded/);
    state.result = r.stdout.trim();
    expect(state.result).toMatch(/^[0-9a-f]{32}$/);
    const notAllowed = await cli([
      'run',
      pipeline,
      '--input',
      `visits=${state.dataset}`,
      '--key',
      'owner.key',
      '--wait',
    ]);
    expect(notAllowed.code).toBe(1);
    expect(notAllowed.stderr).toMatch(/not allowed.*\(analyst_not_allowed\)/);
  });

  it('7. result prints the table as CSV, and the whole signed result as JSON, to its readers only', async () => {
    const anonymous = await cli(['result', state.result as string]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/give --key <key file> or set OBSCURA_KEY \(key_required\)/);
    const csv = await cli(['result', state.result as string, '--format', 'csv', '--key', 'analyst.key']);
    expect(csv.code).toBe(0);
    const [header, ...rows] = csv.stdout.trim().split('\n');
    expect(header?.split(',')[0]).toBe('region');
    expect(rows.length).toBeGreaterThan(0);
    expect(csv.stderr).toMatch(/suppressed/);
    // The owner signed a result recipient into the manifest when sealing: a reader too.
    const owners = await cli(['result', state.result as string, '--key', 'owner.key']);
    expect(owners.code, owners.stderr).toBe(0);
    expect(owners.stdout).toBe(csv.stdout);
    const json = await cli(['result', state.result as string, '--format', 'json', '--key', 'owner.key']);
    const doc = JSON.parse(json.stdout);
    // The document is published as the host holds it: outputs sealed, ciphertext beside.
    expect(doc.signed.result.outputs.visibility).toBe('sealed');
    expect(doc.signed.result.outputs.readers.map((r: { role: string }) => r.role)).toEqual([
      'analyst',
      'owner',
    ]);
    expect(typeof doc.ciphertext).toBe('string');
    expect(doc.signed.signature).toMatch(/^[0-9a-f]{128}$/);
    expect(doc.anchor.blockNumber).toBeGreaterThan(0);
    writeFileSync(join(work, 'result.json'), json.stdout);
  });

  it('8. verify checks signature, attestation and anchor; an altered copy fails', async () => {
    const ok = await cli(['verify', state.result as string, '--allow-simulated', '--key', 'analyst.key']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/✓ enclave signature/);
    expect(ok.stdout).toMatch(/✓ attestation: SIMULATED TEE/);
    expect(ok.stdout).toMatch(/✓ chain anchor: in block #\d+/);
    expect(ok.stdout).toMatch(
      /✓ outputs: sealed to analyst .*, owner .*; decrypted with your key, ciphertext and plaintext as signed/,
    );
    const noSim = await cli(['verify', state.result as string, '--key', 'analyst.key']);
    expect(noSim.code).toBe(1);
    const saved = await cli(['verify', '--file', 'result.json', '--allow-simulated']);
    expect(saved.code).toBe(0);
    expect(saved.stdout).toMatch(
      /✓ outputs: sealed to .*; ciphertext sha256 [0-9a-f]{16}… as signed \(give --key/,
    );
    const doc = JSON.parse(readFileSync(join(work, 'result.json'), 'utf8'));
    // A swapped ciphertext: the signature still holds, the outputs check does not.
    const swapped = structuredClone(doc);
    const bytes = Buffer.from(swapped.ciphertext, 'base64');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    swapped.ciphertext = bytes.toString('base64');
    writeFileSync(join(work, 'swapped.json'), JSON.stringify(swapped));
    const bad = await cli(['verify', '--file', 'swapped.json', '--allow-simulated']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/✓ enclave signature/);
    expect(bad.stdout).toMatch(/✗ outputs: result_ciphertext_mismatch/);
    // An altered signed body (the plaintext hash the enclave signed): the signature fails.
    doc.signed.result.outputs.plaintextSha256 = '0'.repeat(64);
    writeFileSync(join(work, 'altered.json'), JSON.stringify(doc));
    const altered = await cli(['verify', '--file', 'altered.json', '--allow-simulated']);
    expect(altered.code).toBe(1);
    expect(altered.stdout).toMatch(/✗ enclave signature/);
    expect(altered.stdout).toMatch(/FAILED/);
  }, 180_000);

  it('9. jobs, datasets and pipelines list what the signing account may read', async () => {
    const jobs = await cli(['jobs', '--key', 'analyst.key', '--status', 'succeeded']);
    expect(jobs.code, jobs.stderr).toBe(0);
    expect(jobs.stdout).toMatch(new RegExp(`succeeded: .* result ${state.result}`));
    const mine = JSON.parse((await cli(['jobs', '--key', 'analyst.key', '--json'])).stdout) as {
      jobs: { analyst: string }[];
    };
    expect(mine.jobs.length).toBeGreaterThan(0);
    expect(mine.jobs.every((j) => j.analyst === state.analyst)).toBe(true);
    expect((await cli(['jobs', '--key', 'analyst.key', '--status', 'done'])).stderr).toMatch(
      /not a job state.*\(status_unknown\)/,
    );
    const datasets = await cli(['datasets', '--key', 'owner.key']);
    expect(datasets.stdout).toContain(state.dataset as string);
    expect(datasets.stdout).toMatch(/columns {2}.*region:string/);
    const pipelines = await cli(['pipelines', '--key', 'analyst.key']);
    expect(pipelines.stdout).toMatch(/^[0-9a-f]{64} {2}cost-by-region/m);
    // Unsigned, the private jobs stay hidden and datasets are not listed at all.
    expect((await cli(['jobs'])).stdout.trim()).toBe('no jobs');
    expect((await cli(['datasets'])).stderr).toMatch(/\(key_required\)/);
  }, 120_000);

  it('never lets the plaintext marker reach the data directory, the logs or any output', () => {
    expect(readFileSync(join(PROJECT_ROOT, 'datasets/visits.csv'), 'utf8')).toContain(MARKER);
    expect(filesContaining(dataDir, MARKER)).toEqual([]);
    expect(server.output()).not.toContain(MARKER);
    for (const o of outputs) expect(o).not.toContain(MARKER);
  });

  it('keeps datasets, results, the chain and the worker key across a restart', async () => {
    await server.stop();
    server = await serve();
    const workers = await cli(['workers', '--allow-simulated']);
    expect(workers.stdout).toContain(state.recipient as string);
    const verified = await cli([
      'verify',
      state.result as string,
      '--allow-simulated',
      '--key',
      'analyst.key',
    ]);
    expect(verified.code, verified.stdout).toBe(0);
    const again = await cli([
      'run',
      join(PROJECT_ROOT, 'pipelines/cost-by-region.yaml'),
      '--input',
      `visits=${state.dataset}`,
      '--key',
      'analyst.key',
      '--wait',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(
      (await cli(['verify', again.stdout.trim(), '--allow-simulated', '--key', 'analyst.key'])).code,
    ).toBe(0);
    // A whole server restart, a job and two verifications: minutes on a loaded 2-core machine.
  }, 240_000);
});
