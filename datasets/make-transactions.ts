/**
 * Synthetic card and account transactions of a bank, seeded and reproducible. No real
 * person is in it. Columns: transaction_id (string), account_id (string), booked_at
 * (timestamp, 2025), category (string), channel (string), amount (float, EUR; refunds
 * negative), abroad (bool), fraud (bool).
 *
 * About 400 accounts; amounts are log-normal per category; the rare category `gambling`
 * (a handful of rows) is there so that min_group_size suppression shows; fraud is rare
 * (about 1 %) and more common online, abroad and for electronics.
 *
 * Run `node --import tsx datasets/make-transactions.ts` to rewrite
 * datasets/transactions.csv (optionally `--rows N --seed S --out path`).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { flag, hex, mulberry32, normal, weighted } from './random.ts';

/** Categories: relative frequency, median amount (EUR) and how much amounts spread. */
const CATEGORIES: readonly (readonly [string, number, number, number])[] = [
  ['groceries', 30, 45, 0.6],
  ['restaurants', 14, 35, 0.5],
  ['transport', 12, 18, 0.7],
  ['utilities', 8, 90, 0.4],
  ['rent', 4, 950, 0.2],
  ['electronics', 5, 180, 0.9],
  ['health', 6, 60, 0.8],
  ['travel', 5, 320, 0.8],
  ['transfer', 16, 150, 1.1],
];

const CHANNELS: Record<string, readonly (readonly [string, number])[]> = {
  default: [
    ['card', 70],
    ['online', 25],
    ['atm', 5],
  ],
  rent: [['transfer', 1]],
  utilities: [
    ['transfer', 80],
    ['online', 20],
  ],
  transfer: [['transfer', 1]],
};

/** Options of makeTransactions. */
export interface TransactionOptions {
  rows?: number;
  seed?: number;
}

/** The transactions CSV text (header + `rows` lines, LF endings), deterministic for a seed. */
export function makeTransactions({ rows = 5000, seed = 20261126 }: TransactionOptions = {}): string {
  const rand = mulberry32(seed);
  const accounts = Math.max(1, Math.round(rows / 12.5));
  const lines: string[] = ['transaction_id,account_id,booked_at,category,channel,amount,abroad,fraud'];
  const start = Date.UTC(2025, 0, 1);
  for (let i = 0; i < rows; i++) {
    const account = `A${String(Math.floor(rand() * accounts)).padStart(5, '0')}`;
    const at = new Date(start + Math.floor(rand() * 365 * 86_400) * 1000)
      .toISOString()
      .slice(0, 19)
      .replace('T', ' ');
    let [category, , median, spread] = weighted(
      rand,
      CATEGORIES.map((c) => [c, c[1]] as const),
    );
    if (i % 1000 === 500) [category, median, spread] = ['gambling', 40, 1];
    const channel = weighted(
      rand,
      CHANNELS[category] ?? (CHANNELS.default as readonly (readonly [string, number])[]),
    );
    let amount = median * Math.exp(spread * normal(rand));
    if (category !== 'rent' && category !== 'transfer' && rand() < 0.02) amount = -amount; // refunds
    const abroad = category === 'travel' ? rand() < 0.7 : rand() < 0.06;
    const risk =
      0.004 +
      (channel === 'online' ? 0.015 : 0) +
      (abroad ? 0.02 : 0) +
      (category === 'electronics' ? 0.03 : 0);
    const fraud = rand() < risk;
    lines.push(
      `T${String(i).padStart(7, '0')}-${hex(rand, 4)},${account},${at},${category},${channel},${amount.toFixed(2)},${abroad},${fraud}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const here = dirname(fileURLToPath(import.meta.url));
  const out = flag('out') ?? join(here, 'transactions.csv');
  const rows = Number(flag('rows') ?? 5000);
  writeFileSync(out, makeTransactions({ rows, seed: Number(flag('seed') ?? 20261126) }));
  process.stdout.write(`wrote ${rows} transactions to ${out}\n`);
}
