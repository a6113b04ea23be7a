/**
 * Finding the nodes of a job's datasets: the coordinating node asks every other node with a
 * fresh record on the chain (`POST /v1/federation/datasets`, signed node to node) which of the
 * datasets the analyst's signed request binds it holds. A node answers only for datasets it
 * holds that the request's analyst may read, so the question teaches a coordinator nothing
 * the analyst could not learn; the answer names the worker, the manifest hash (which the
 * request binds) and a hash of the owner-signed schema (datasets of one input must agree).
 */
import { z } from 'zod';
import { ObscuraError } from '../../common/errors.ts';
import type { NodeRecord, NodeWorker } from '../../contracts/node-record.ts';
import type { SignedJobRequest } from '../../privacy/job-request.ts';
import type { PeerAcceptance } from './peer-attestation.ts';
import type { NodeRegistry } from './registry.ts';

/** One dataset as the node holding it describes it to a coordinating node. */
export const HeldDatasetSchema = z.strictObject({
  id: z.string().min(1),
  worker: z.string().min(1),
  manifestHash: z.string().regex(/^[0-9a-f]{64}$/),
  schemaHash: z.string().regex(/^[0-9a-f]{64}$/),
});
/** One dataset as the node holding it describes it. */
export type HeldDataset = z.infer<typeof HeldDatasetSchema>;

/** The answer of POST /v1/federation/datasets. */
export const HeldDatasetsSchema = z.strictObject({ datasets: z.array(HeldDatasetSchema) });

/** A dataset of another node: where it is, and what it says of itself. */
export interface LocatedDataset extends HeldDataset {
  node: NodeRecord;
  nodeWorker: NodeWorker;
}

/**
 * Where each of `ids` lives among the other fresh nodes of the registry whose workers run code
 * `accept` names. Throws 404 'dataset_not_found' naming an id no node holds (for this analyst),
 * 'federation_node_unreachable' when some node did not answer while some id is still missing,
 * else 'federation_node_code_not_accepted' (403) naming the nodes not asked for their code.
 */
export async function locateDatasets(
  registry: NodeRegistry,
  request: SignedJobRequest,
  ids: readonly string[],
  accept: Pick<PeerAcceptance, 'measurements'>,
): Promise<Map<string, LocatedDataset>> {
  const found = new Map<string, LocatedDataset>();
  if (ids.length === 0) return found;
  const others = (await registry.nodes()).filter((n) => n.fresh && n.record.operator !== registry.operator);
  const foreign = others.filter((n) =>
    n.record.workers.some((w) => !accept.measurements.includes(w.measurement)),
  );
  const failed: string[] = [];
  await Promise.all(
    others
      .filter((n) => !foreign.includes(n))
      .map(async ({ record }) => {
        try {
          const answer = HeldDatasetsSchema.parse(
            await registry.clientFor(record.url).post('/v1/federation/datasets', { request }),
          );
          for (const d of answer.datasets) {
            const nodeWorker = record.workers.find((w) => w.id === d.worker);
            if (ids.includes(d.id) && nodeWorker && !found.has(d.id))
              found.set(d.id, { ...d, node: record, nodeWorker });
          }
        } catch {
          failed.push(record.url);
        }
      }),
  );
  const missing = ids.find((id) => !found.has(id));
  if (missing) {
    const named = foreign.map(
      (n) =>
        `${n.record.url} (${n.record.workers
          .filter((w) => !accept.measurements.includes(w.measurement))
          .map((w) => `${w.id}: measurement ${w.measurement}`)
          .join(', ')})`,
    );
    const notAsked = named.length
      ? `node ${named.join(', ')} runs code this node does not accept, so no part of the job goes there`
      : '';
    // A node that did not answer may hold it (it may come back): said first.
    if (failed.length)
      throw new ObscuraError(
        'federation_node_unreachable',
        `dataset ${missing} is on no node that answered; node ${failed.join(', ')} did not answer${notAsked ? `; ${notAsked}` : ''}`,
        503,
        { node: failed[0] },
      );
    if (notAsked)
      throw new ObscuraError(
        'federation_node_code_not_accepted',
        `dataset ${missing} is on no node whose code this node accepts; ${notAsked}`,
        403,
        { node: foreign[0]?.record.url },
      );
    throw new ObscuraError('dataset_not_found', `no node of the federation holds dataset ${missing}`, 404);
  }
  return found;
}
