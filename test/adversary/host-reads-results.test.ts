/**
 * Attack: the host reads the results it stores and serves. As the host, read everything it
 * holds and everything it can answer: every file of its data directory (the SQLite
 * metadata, the blob directory, the embedded chain), its logs, and the response of every
 * GET route of its OpenAPI document (and /metrics) to the analyst, the owner and anyone;
 * then look for the job's output values (sums of costs, distinctive to the cent).
 * A second attack: another analyst whom the owner allowed, who did not run the job, takes
 * the published result and tries to open it with their own key.
 * Promise it would break: results are encrypted inside the enclave to the people allowed to
 * read them (the job's analyst and the owners of its inputs); the host keeps ciphertext and
 * public hashes only, and only a reader's key opens them.
 * Fails if any output value appears anywhere the host can read, if the other analyst opens
 * the outputs, or if the analyst or the owner cannot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/client.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import type { OutputTable } from '../../src/contracts/result.ts';
import { openOutputs } from '../../src/contracts/result-outputs.ts';
import { documentOutputs, parseResultDocument } from '../../src/provenance/document.ts';
import { pipelineHash, parsePipeline } from '../../src/pipelines/index.ts';
import type { ResultDocument } from '../../src/contracts/api-records.ts';
import { type DataHost, startDataHost } from '../helpers/data-host.ts';
import { filesContaining } from '../helpers/leaks.ts';
import { finished, resultOutputs, submitJob } from '../helpers/jobs.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';

const PIPELINE = `obscura: 1
name: host-reads-results
inputs: { visits: { columns: { region: string, cost: float64 } } }
steps:
  - id: costs
    aggregate: { from: visits, group_by: [region], measures: { total: { sum: cost }, mean: { mean: cost } } }
outputs: { costs: { min_group_size: 5 } }
`;

let t: DataHost;
let owner: AccountKey;
let alice: AccountKey;
let bob: AccountKey;
let ids: { dataset: string; job: string; result: string; worker: string };
let tables: Record<string, OutputTable>;

beforeAll(async () => {
  t = await startDataHost({ enclaveSpawn: inProcessEnclave });
  owner = await accountKeyFromSuri('//ReadsResultsOwner');
  alice = await accountKeyFromSuri('//ReadsResultsAlice');
  bob = await accountKeyFromSuri('//ReadsResultsBob');
  const { dataset } = await t.seal({ owner, analysts: [alice, bob] });
  const r = await submitJob(t.host.url, alice, { pipeline: PIPELINE, inputs: { visits: dataset } });
  if (!r.job) throw new Error(`job refused: ${r.code} ${r.message}`);
  const job = await finished(t.host.url, alice, r.job);
  if (job.status !== 'succeeded' || !job.result) throw new Error(`job failed: ${JSON.stringify(job.error)}`);
  ids = { dataset, job: job.id, result: job.result, worker: t.worker.id };
  tables = await resultOutputs(t.host.url, alice, job.result);
}, 180_000);

afterAll(async () => {
  await t?.close();
});

/** The output values that cannot appear by chance: non-integer cost sums and means, as JSON writes them. */
function distinctiveValues(): string[] {
  const values = Object.values(tables).flatMap((table) => table.rows.flat());
  return values
    .filter((v): v is number => typeof v === 'number' && !Number.isInteger(v) && Math.abs(v) >= 1000)
    .map((v) => String(v));
}

/** Every answer the host gives to GET on each route of its OpenAPI document (and /metrics), as `who`. */
async function everyAnswer(who: AccountKey | undefined): Promise<string[]> {
  const api = new ApiClient(t.host.url, who);
  const doc = (await api.get('/v1/openapi.json')) as { paths: Record<string, Record<string, unknown>> };
  const fill = (path: string) =>
    path
      .replace(/^\/v1\/datasets\/\{id\}/, `/v1/datasets/${ids.dataset}`)
      .replace(/^\/v1\/jobs\/\{id\}/, `/v1/jobs/${ids.job}`)
      .replace(/^\/v1\/results\/\{id\}/, `/v1/results/${ids.result}`)
      .replace(/^\/v1\/workers\/\{id\}/, `/v1/workers/${ids.worker}`)
      .replace('{hash}', pipelineHash(parsePipeline(PIPELINE)));
  const paths = [
    ...Object.entries(doc.paths)
      .filter(([, item]) => 'get' in item)
      .map(([p]) => fill(p)),
    '/metrics',
  ];
  expect(paths).toContain(`/v1/results/${ids.result}`);
  const answers: string[] = [];
  for (const p of paths) {
    const res = await api.fetchSigned(p);
    answers.push(`${p} ${res.status} ${await res.text()}`);
  }
  return answers;
}

describe('the host cannot read the results it stores', () => {
  it('finds no output value in its data directory, its logs, or any answer it gives', async () => {
    const needles = distinctiveValues();
    // A region's cost sum and mean each: enough to be sure the search looks for real values.
    expect(needles.length).toBeGreaterThanOrEqual(4);
    const answers = [
      ...(await everyAnswer(alice)),
      ...(await everyAnswer(owner)),
      ...(await everyAnswer(undefined)),
    ];
    const leaks: string[] = [];
    for (const needle of needles) {
      for (const file of filesContaining(t.dataDir, needle)) leaks.push(`${needle} in ${file}`);
      if (t.logs.some((l) => l.includes(needle))) leaks.push(`${needle} in the host's log`);
      for (const a of answers) if (a.includes(needle)) leaks.push(`${needle} in ${a.slice(0, 80)}`);
    }
    expect(leaks).toEqual([]);
  });

  it('stores and serves the outputs sealed to the analyst and the owner, and no counts beside them', async () => {
    const doc = parseResultDocument(await new ApiClient(t.host.url, alice).get(`/v1/results/${ids.result}`));
    const out = doc.signed.result.outputs;
    expect(out.visibility).toBe('sealed');
    if (out.visibility !== 'sealed') return;
    expect(out.names).toEqual(['costs']);
    expect(out.dp).toEqual([]);
    expect(out.readers).toEqual([
      { role: 'analyst', account: alice.address, recipient: alice.resultRecipient },
      { role: 'owner', account: owner.address, recipient: owner.resultRecipient },
    ]);
    expect(Object.keys(out).sort()).toEqual([
      'ciphertextSha256',
      'dp',
      'names',
      'plaintextSha256',
      'readers',
      'visibility',
    ]);
    expect(typeof doc.ciphertext).toBe('string');
  });

  it('lets another allowed analyst neither fetch nor open the result, and lets the owner open it', async () => {
    // Bob is allowed on the dataset but did not run the job: the host does not serve it to him…
    await expect(new ApiClient(t.host.url, bob).get(`/v1/results/${ids.result}`)).rejects.toMatchObject({
      status: 404,
    });
    // …and a copy (from a hostile host, or passed around) does not open with his key.
    const doc: ResultDocument = parseResultDocument(
      await new ApiClient(t.host.url, alice).get(`/v1/results/${ids.result}`),
    );
    await expect(documentOutputs(doc, bob)).rejects.toMatchObject({
      code: 'result_not_a_reader',
      status: 403,
    });
    // Claiming to be a reader does not help: the ciphertext is not addressed to his key.
    const pretender = {
      resultRecipient: alice.resultRecipient,
      decryptResult: (c: Uint8Array) => bob.decryptResult(c),
    };
    await expect(
      openOutputs(doc.signed.result, Buffer.from(doc.ciphertext ?? '', 'base64'), pretender),
    ).rejects.toMatchObject({ code: 'result_not_a_reader' });
    await expect(bob.decryptResult(Buffer.from(doc.ciphertext ?? '', 'base64'))).rejects.toMatchObject({
      code: 'age_no_matching_identity',
    });
    // The owner of the input reads the same tables as the analyst.
    expect(await resultOutputs(t.host.url, owner, ids.result)).toEqual(tables);
  });
});
