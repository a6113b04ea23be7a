/**
 * `obscura pipeline check|hash FILE`: offline work on a pipeline document. `check`
 * validates it against the columns its inputs declare and prints its hash, the columns
 * it reads per input and how it uses them (the uses owners' policies rule), and what each
 * output would contain; `hash` prints the hash alone
 * (the same for the YAML and JSON forms of a pipeline, whatever the key order). Neither
 * touches data or the network; the pipelines module (whose imports load DuckDB's native
 * library) is imported only when one of them runs, so other commands start without it.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ObscuraError } from '../../common/errors.ts';
import type { PipelineDocument, PipelinePlan } from '../../pipelines/index.ts';
import { usesByInput } from '../../pipelines/lineage.ts';
import { emit, type GlobalOptions } from '../output.ts';

const pipelines = () => import('../../pipelines/index.ts');

async function readDocument(file: string): Promise<PipelineDocument> {
  const text = await readFile(file, 'utf8').catch((e: unknown) => {
    throw new ObscuraError('file_unreadable', `cannot read ${file}`, 400, undefined, { cause: e });
  });
  return (await pipelines()).parsePipeline(text);
}

/** Each input's columns by use, from the plan's lineage. */
function usesOf(plan: PipelinePlan) {
  return usesByInput(
    plan.lineage,
    plan.inputs.map((i) => i.name),
  );
}

/** What `pipeline check --json` prints. */
function summary(file: string, doc: PipelineDocument, plan: PipelinePlan) {
  return {
    file,
    name: doc.name,
    hash: plan.hash,
    inputs: plan.inputs.map((i) => ({
      name: i.name,
      columnsRead: i.columnsRead,
      uses: usesOf(plan)[i.name],
    })),
    outputs: plan.outputs.map((o) => ({
      step: o.step,
      kind: o.kind,
      minGroupSize: o.minGroupSize,
      inputs: o.inputs,
      columns: o.columns,
    })),
  };
}

function text(file: string, doc: PipelineDocument, plan: PipelinePlan): string {
  const lines = [`${file}: pipeline ${doc.name} is valid`, `hash ${plan.hash}`];
  const uses = usesOf(plan);
  for (const i of plan.inputs) {
    lines.push(`input ${i.name} reads ${i.columnsRead.length ? i.columnsRead.join(', ') : '(nothing)'}`);
    // How, as owners' policies name the uses: what a policy must allow for this to run.
    const how = Object.entries(uses[i.name] ?? {}).filter(([, columns]) => columns.length > 0);
    if (how.length)
      lines.push(`  uses: ${how.map(([use, columns]) => `${use} ${columns.join(', ')}`).join('; ')}`);
  }
  for (const o of plan.outputs) {
    const behind = o.inputs.length > 1 ? `each of ${o.inputs.join(', ')}` : (o.inputs[0] ?? 'its input');
    lines.push(
      `output ${o.step}: one row per group, released when at least ${o.minGroupSize} distinct rows of ${behind} are behind it; columns (types as declared):`,
    );
    for (const c of o.columns) lines.push(`  ${c.name} ${c.type}`);
  }
  return lines.join('\n');
}

/** Register `pipeline` with its `check` and `hash` subcommands. */
export function pipelineCommand(program: Command): void {
  const pipeline = program.command('pipeline');
  pipeline
    .command('check')
    .description(
      'validate a pipeline against the columns its inputs declare; print its hash, the columns it reads and its outputs',
    )
    .argument('<file>', 'a pipeline document (YAML or JSON)')
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const { checkPipeline, declaredSchemas } = await pipelines();
      const doc = await readDocument(file);
      const plan = checkPipeline(doc, declaredSchemas(doc));
      emit(cmd.optsWithGlobals<GlobalOptions>(), summary(file, doc, plan), text(file, doc, plan));
    });
  pipeline
    .command('hash')
    .description("print a pipeline's hash: SHA-256 of its RFC 8785 canonical JSON")
    .argument('<file>', 'a pipeline document (YAML or JSON)')
    .action(async (file: string) => {
      const { pipelineHash } = await pipelines();
      process.stdout.write(`${pipelineHash(await readDocument(file))}\n`);
    });
}
