/**
 * Attack: read a fact about one row off an upload's refusal. The host relays the enclave's
 * refusal of a dataset whose value does not fit its signed type (a careless owner, or a
 * sample-typed column: `obscura seal` types a CSV from its first 8 MiB). Named with its row,
 * the refusal told the host that this row's value in that column is not a number, e.g. that
 * one row's lab value reads "pending". The promise it breaks: the host learns of a dataset
 * only what its manifest states. The refusal names the column and the type, never the row or
 * the value, in the answer and in the host's logs; the owner finds the row on their own
 * machine (`obscura seal --full-check`).
 * Runs a real host (embedded chain, the real enclave in-process, API).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/client.ts';
import { sealDataset } from '../../src/cli/seal-dataset.ts';
import { type AccountKey, accountKeyFromSuri } from '../../src/crypto/index.ts';
import { type DataHost, startDataHost } from '../helpers/data-host.ts';
import { refusal } from '../helpers/datasets.ts';
import { inProcessEnclave } from '../helpers/in-process-enclave.ts';

// A number unlikely to appear in the logs by chance (a duration, a size), as could 150.
const BAD_ROW = 4817;
const BAD_VALUE = 'pending-7731';

let t: DataHost;
let owner: AccountKey;
let analyst: AccountKey;

beforeAll(async () => {
  t = await startDataHost({ enclaveSpawn: inProcessEnclave });
  owner = await accountKeyFromSuri('//RefusalRowOwner');
  analyst = await accountKeyFromSuri('//RefusalRowAnalyst');
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('an upload refused for a value that does not fit its type', () => {
  it('names the column and the type to the host, not the row or the value', async () => {
    const lines = ['patient,hba1c'];
    for (let r = 1; r <= 5000; r++) lines.push(`p${r},${r === BAD_ROW ? BAD_VALUE : 5 + (r % 30) / 10}`);
    const file = join(t.work, 'labs.csv');
    writeFileSync(file, `${lines.join('\n')}\n`);
    // The owner types the column by hand, as `--type hba1c=float64` does; the file disagrees.
    const out = join(t.work, 'labs.sealed');
    const { signed } = await sealDataset({
      file,
      out,
      owner,
      worker: t.worker,
      analysts: [analyst.address],
      measurements: [t.worker.measurement],
      types: { hba1c: 'float64' },
    });
    const form = new FormData();
    form.append('manifest', JSON.stringify(signed));
    form.append('sealed', new Blob([readFileSync(out)]), 'sealed');
    const e = await refusal(new ApiClient(t.host.url, owner).postForm('/v1/datasets', form));

    expect(e.code).toBe('dataset_invalid');
    expect(e.message).toBe('CSV, a row, column "hba1c": value is not a valid float64');
    for (const told of [e.message, ...t.logs]) {
      expect(told).not.toMatch(/\brow \d/);
      // As a number of its own, counted from 0, 1 or with the header line: the logs carry hex
      // hashes (the code's measurement) that may hold its digits.
      for (const n of [BAD_ROW - 1, BAD_ROW, BAD_ROW + 1]) {
        expect(told).not.toMatch(new RegExp(`(?<![0-9a-f])${n}(?![0-9a-f])`));
      }
      expect(told).not.toContain(BAD_VALUE);
    }
  });
});
