/** `obscura result`: print a result's output tables as CSV, or the whole signed document. */
import type { Command } from 'commander';
import { ObscuraError } from '../../common/errors.ts';
import type { OutputTable } from '../../enclave/result.ts';
import { parseResultDocument } from '../../provenance/document.ts';
import { ApiClient } from '../client.ts';
import type { GlobalOptions } from '../output.ts';

// RFC 4180 quoting, written here because it is five lines and the only CSV output we make.
function csvField(v: string | number | boolean | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** An output table as CSV: a header row, then one row per group. */
export function tableToCsv(t: OutputTable): string {
  const lines = [t.columns.map((c) => csvField(c.name)).join(',')];
  for (const row of t.rows) lines.push(row.map(csvField).join(','));
  return `${lines.join('\n')}\n`;
}

/** Register `result`. */
export function resultCommand(program: Command): void {
  program
    .command('result')
    .alias('results')
    .description('print a result: its output tables as CSV, or the whole signed document as JSON')
    .argument('<id>', 'result id')
    .option('--format <format>', 'csv | json', 'csv')
    .option('--output <step>', 'only this output table')
    .action(async (id: string, opts: { format: string; output?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const doc = parseResultDocument(await new ApiClient(g.api).get(`/v1/results/${encodeURIComponent(id)}`));
      if (opts.format === 'json' || g.json) {
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        return;
      }
      if (opts.format !== 'csv') throw new ObscuraError('format_unknown', `unknown format ${opts.format} (csv or json)`, 400);
      const outputs = Object.entries(doc.signed.result.outputs).filter(([step]) => !opts.output || step === opts.output);
      if (outputs.length === 0) throw new ObscuraError('output_not_found', `result ${id} has no output ${opts.output}`, 404);
      for (const [step, table] of outputs) {
        if (outputs.length > 1) process.stdout.write(`# ${step}\n`);
        process.stdout.write(tableToCsv(table));
        if (table.suppressedGroups > 0) {
          process.stderr.write(`${step}: ${table.suppressedGroups} group(s) suppressed (fewer than ${table.minGroupSize} rows)\n`);
        }
      }
      if (doc.signed.result.enclave.simulated) process.stderr.write('note: computed in a simulated TEE\n');
    });
}
