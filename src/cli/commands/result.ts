/**
 * `obscura result`: print a result's output tables as CSV, or the whole signed document.
 * Sealed outputs are decrypted here, on the reader's machine, with the identity derived from
 * the account key, and checked against the hashes the enclave signed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ObscuraError } from '../../common/errors.ts';
import { formatNumber } from '../../common/format-number.ts';
import type { OutputTable } from '../../contracts/result.ts';
import { documentOutputs } from '../../provenance/document.ts';
import { ApiClient, commandKey } from '../client.ts';
import type { GlobalOptions } from '../output.ts';

// RFC 4180 quoting, written here because it is five lines and the only CSV output we make.
function csvField(v: string | number | boolean | null): string {
  if (v === null) return '';
  // Rounded for people (format-number.ts); --format json keeps the signed values.
  const s = typeof v === 'number' ? formatNumber(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** An output table as CSV: a header row, then one row per group. */
export function tableToCsv(t: OutputTable): string {
  const lines = [t.columns.map((c) => csvField(c.name)).join(',')];
  for (const row of t.rows) lines.push(row.map(csvField).join(','));
  return `${lines.join('\n')}\n`;
}

/**
 * Write the released weights of a train output as `model.json` (topology and a weights
 * manifest naming `weights.bin`) and `weights.bin`, after checking them against their hash.
 */
async function writeWeights(
  outputs: Record<string, OutputTable>,
  dir: string,
  only?: string,
): Promise<string> {
  const withWeights = Object.entries(outputs).filter(
    ([step, t]) => t.model?.weights && (!only || step === only),
  );
  const [entry] = withWeights;
  if (!entry || withWeights.length > 1) {
    const why = entry
      ? 'several outputs have weights: name one with --output'
      : 'no output of this result released weights';
    throw new ObscuraError('weights_not_found', why, 404);
  }
  const [step, table] = entry;
  const w = table.model?.weights as NonNullable<NonNullable<OutputTable['model']>['weights']>;
  const { weightsHash } = await import('../../ml/weights.ts');
  if (weightsHash(w) !== w.sha256)
    throw new ObscuraError('weights_hash_mismatch', `the weights of ${step} do not match their hash`, 422);
  await mkdir(dir, { recursive: true });
  const manifest = {
    modelTopology: w.modelTopology,
    format: 'layers-model',
    generatedBy: 'obscura',
    weightsManifest: [{ paths: ['weights.bin'], weights: w.weightSpecs }],
  };
  await writeFile(join(dir, 'model.json'), JSON.stringify(manifest));
  await writeFile(join(dir, 'weights.bin'), Buffer.from(w.weightData, 'base64'));
  return `${step}: wrote ${join(dir, 'model.json')} and weights.bin (sha256 ${w.sha256})`;
}

/** Register `result`. */
export function resultCommand(program: Command): void {
  program
    .command('result')
    .alias('results')
    .argument('<id>', 'result id')
    .option('--format <format>', 'csv | json', 'csv')
    .option('--output <step>', 'only this output table')
    .option(
      '--key <file>',
      'your account key file (default OBSCURA_KEY): the analyst who ran the job or an owner of its inputs',
    )
    .option(
      '--weights <dir>',
      "write a train output's released weights as model.json + weights.bin (TensorFlow.js layers format)",
    )
    .action(
      async (
        id: string,
        opts: { format: string; output?: string; weights?: string; key?: string },
        cmd: Command,
      ) => {
        const g = cmd.optsWithGlobals<GlobalOptions>();
        const key = await commandKey(opts.key);
        const doc = await new ApiClient(g.api, key).result(id);
        if (opts.weights) {
          const written = await writeWeights(await documentOutputs(doc, key), opts.weights, opts.output);
          process.stdout.write(`${written}\n`);
          return;
        }
        if (opts.format === 'json' || g.json) {
          // The signed document as published: a sealed result stays sealed (verify --file checks it).
          process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
          return;
        }
        if (opts.format !== 'csv')
          throw new ObscuraError('format_unknown', `unknown format ${opts.format} (csv or json)`, 400);
        const tables = await documentOutputs(doc, key);
        const outputs = Object.entries(tables).filter(([step]) => !opts.output || step === opts.output);
        if (outputs.length === 0)
          throw new ObscuraError('output_not_found', `result ${id} has no output ${opts.output}`, 404);
        for (const [step, table] of outputs) {
          if (outputs.length > 1) process.stdout.write(`# ${step}\n`);
          process.stdout.write(tableToCsv(table));
          if (table.suppressedGroups > 0) {
            process.stderr.write(
              `${step}: ${table.suppressedGroups} group(s) suppressed (fewer than ${table.minGroupSize} rows)\n`,
            );
          }
        }
        if (doc.signed.result.enclave.simulated) process.stderr.write('note: computed in a simulated TEE\n');
      },
    );
}
