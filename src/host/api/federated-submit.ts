/**
 * What the coordinating host checks of a job over datasets of several nodes before it
 * queues it (each node's enclave checks its own share again): a join needs its inputs on one
 * node, and the datasets bound to one input must share a schema (their rows are one union).
 */
import { ObscuraError } from '../../common/errors.ts';
import { canonicalJson, sha256Hex } from '../../common/hash.ts';
import type { PipelineDocument } from '../../pipelines/index.ts';
import type { LocatedDataset } from '../federation/locate.ts';
import type { HostContext } from './context.ts';

/**
 * Throw 'federation_join_across_nodes' (422) for a join over datasets of more than one node,
 * 'federation_schema_mismatch' (422) naming two datasets of one input whose schemas differ.
 */
export function checkAcrossNodes(
  ctx: HostContext,
  doc: PipelineDocument,
  inputs: Record<string, string | string[]>,
  remote: ReadonlyMap<string, LocatedDataset>,
): void {
  const ids = Object.values(inputs).flat();
  const nodes = new Set(ids.map((id) => remote.get(id)?.node.url ?? ''));
  const join = doc.steps.find((s) => s.join);
  if (join && nodes.size > 1)
    throw new ObscuraError(
      'federation_join_across_nodes',
      `step ${join.id} joins inputs whose datasets are on different nodes: rows on different nodes never meet (private set intersection across nodes is not available); put the joined datasets on one node`,
      422,
      { step: join.id },
    );
  if (Object.keys(inputs).length > 1 && nodes.size > 1)
    throw new ObscuraError(
      'federation_invalid',
      'a job across nodes has one input, bound to the datasets whose rows it unites',
      400,
    );
  for (const [name, v] of Object.entries(inputs)) {
    const list = Array.isArray(v) ? v : [v];
    const schemaOf = (id: string) =>
      remote.get(id)?.schemaHash ??
      sha256Hex(canonicalJson(ctx.metadata.dataset(id).manifest.manifest.schema));
    const first = list[0] as string;
    const other = list.find((id) => schemaOf(id) !== schemaOf(first));
    if (other)
      throw new ObscuraError(
        'federation_schema_mismatch',
        `input ${name}: datasets ${first} and ${other} have different schemas, so their rows cannot be one union`,
        422,
        { input: name },
      );
  }
}
