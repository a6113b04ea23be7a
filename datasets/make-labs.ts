/**
 * Synthetic lab results, seeded and reproducible: a laboratory's dataset that shares
 * patient ids with the hospital's visits (datasets/visits.csv), for join examples. No
 * real person is in it. Columns: patient_id (string), hba1c (float, %, sometimes empty),
 * ldl (float, mg/dL, sometimes empty), test_date (date).
 *
 * About 60 % of the visits' patients have results — one to four each (so a join repeats
 * visit rows, which is what per-input min_group_size counting is for) — and about 5 % of
 * the rows belong to patients the hospital never saw (so inner and left joins differ).
 * HbA1c rises with age and is higher for readmitted patients; the marker patient of the
 * visits has exactly one result.
 *
 * Run `node --import tsx datasets/make-labs.ts` to rewrite datasets/labs.csv from
 * datasets/visits.csv (optionally `--visits path --seed S --rows N --out path`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MARKER_PATIENT_ID } from './make-visits.ts';
import { flag, hex, mulberry32, normal } from './random.ts';

/** Options of makeLabs. */
export interface LabOptions {
  /** The visits CSV (as made by makeVisits) whose patients the results belong to. */
  visits: string;
  seed?: number;
  /**
   * Exactly this many rows: the visits are walked again (new results for the same
   * patients) until there are enough. Default: one pass, about 0.95 rows per visit.
   */
  rows?: number;
}

const DAY = 86_400_000;

/** The labs CSV text (header + rows, LF endings), deterministic for the visits and seed. */
export function makeLabs({ visits, seed = 20261125, rows }: LabOptions): string {
  const rand = mulberry32(seed);
  const lines: string[] = ['patient_id,hba1c,ldl,test_date'];
  const row = (id: string, age: number, readmitted: boolean, around: number) => {
    const hba1c =
      rand() < 0.03
        ? ''
        : Math.min(
            14,
            Math.max(4, 5.3 + 0.02 * (age - 40) + (readmitted ? 0.6 : 0) + 0.8 * normal(rand)),
          ).toFixed(1);
    const ldl =
      rand() < 0.05 ? '' : Math.min(300, Math.max(40, 115 + 0.4 * (age - 40) + 35 * normal(rand))).toFixed(1);
    const day = Math.min(729, Math.max(0, around + Math.floor(rand() * 90) - 30));
    lines.push(
      `${id},${hba1c},${ldl},${new Date(Date.UTC(2024, 0, 1) + day * DAY).toISOString().slice(0, 10)}`,
    );
  };
  const start = Date.UTC(2024, 0, 1);
  const body = visits.slice(visits.indexOf('\n') + 1);
  const patients = body.split('\n').filter(Boolean);
  const full = () => rows !== undefined && lines.length > rows;
  let n = 0;
  do {
    for (const line of patients) {
      if (full()) break;
      const [id, , age, , readmitted, date] = line.split(',') as [
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      const around = Math.round((Date.parse(date) - start) / DAY);
      if (id === MARKER_PATIENT_ID) {
        row(id, Number(age), readmitted === 'true', around);
      } else if (rand() < 0.6) {
        let k = 1;
        while (k < 4 && rand() < 0.35) k++;
        for (let i = 0; i < k; i++) row(id, Number(age), readmitted === 'true', around);
      }
      // Patients the hospital never saw: about one for every 20 visits.
      if (rand() < 0.05)
        row(
          `L${String(n++).padStart(6, '0')}-${hex(rand, 6)}`,
          20 + Math.floor(rand() * 70),
          false,
          Math.floor(rand() * 730),
        );
    }
  } while (rows !== undefined && lines.length <= rows && patients.length > 0);
  if (rows !== undefined && lines.length > rows + 1) lines.length = rows + 1;
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const here = dirname(fileURLToPath(import.meta.url));
  const visits = readFileSync(flag('visits') ?? join(here, 'visits.csv'), 'utf8');
  const out = flag('out') ?? join(here, 'labs.csv');
  const rows = flag('rows');
  const text = makeLabs({
    visits,
    seed: Number(flag('seed') ?? 20261125),
    rows: rows === undefined ? undefined : Number(rows),
  });
  writeFileSync(out, text);
  process.stdout.write(`wrote ${text.split('\n').length - 2} lab results to ${out}\n`);
}
