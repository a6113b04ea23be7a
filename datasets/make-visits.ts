/**
 * Synthetic hospital visits, seeded and reproducible: the sample dataset of the examples,
 * tests and benchmark. No real person is in it. Columns: patient_id (string), region
 * (string: five common regions and one rare one, `islands`, with fewer adult visits than
 * the sample pipeline's min_group_size so that its suppression shows), age (int), cost
 * (float, occasionally empty), readmitted (bool), visit_date (date, 2024–2025).
 *
 * One row carries the patient_id MARKER_PATIENT_ID, a string tests search for in every
 * output, error and log to prove plaintext never leaks.
 *
 * Run `node --import tsx datasets/make-visits.ts` to rewrite datasets/visits.csv
 * (optionally `--rows N --seed S --out path`).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { flag, mulberry32 } from './random.ts';

/** The patient_id of the marker row. */
export const MARKER_PATIENT_ID = 'MARKER-7f3a9c';

/** Regions with their relative frequency; `islands` is placed by hand (see below). */
const REGIONS: readonly [string, number][] = [
  ['north', 0.28],
  ['south', 0.24],
  ['east', 0.2],
  ['west', 0.18],
  ['central', 0.1],
];

/** Options of makeVisits. */
export interface VisitOptions {
  rows?: number;
  seed?: number;
}

/**
 * The visits CSV text (header + `rows` lines, LF endings). Deterministic for a given
 * seed. About one row in 250 is in `islands`; row 7 is the marker patient (north, 54).
 */
export function makeVisits({ rows = 2000, seed = 20261124 }: VisitOptions = {}): string {
  const rand = mulberry32(seed);
  const lines: string[] = ['patient_id,region,age,cost,readmitted,visit_date'];
  const start = Date.UTC(2024, 0, 1);
  for (let i = 0; i < rows; i++) {
    const hex = Math.floor(rand() * 0xffffff)
      .toString(16)
      .padStart(6, '0');
    let region = 'central';
    let u = rand();
    for (const [name, weight] of REGIONS) {
      if (u < weight) {
        region = name;
        break;
      }
      u -= weight;
    }
    if (i % 250 === 125) region = 'islands';
    // Ages 0–94, about a fifth under 18.
    let age = Math.floor(rand() * 95);
    const costBase = 80 + 40 * age + Math.exp(rand() * 7);
    const cost = rand() < 0.02 ? '' : costBase.toFixed(2);
    const readmitted = rand() < 0.12 + age / 900;
    const day = Math.floor(rand() * 730);
    const date = new Date(start + day * 86_400_000).toISOString().slice(0, 10);
    let id = `P${String(i).padStart(6, '0')}-${hex}`;
    if (i === 7) {
      id = MARKER_PATIENT_ID;
      region = 'north';
      age = 54;
    }
    lines.push(`${id},${region},${age},${cost},${readmitted},${date}`);
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const here = dirname(fileURLToPath(import.meta.url));
  const out = flag('out') ?? join(here, 'visits.csv');
  const rows = Number(flag('rows') ?? 2000);
  const seed = Number(flag('seed') ?? 20261124);
  writeFileSync(out, makeVisits({ rows, seed }));
  process.stdout.write(`wrote ${rows} visits to ${out}\n`);
}
