/**
 * Mergeable partial aggregates: what one chunk of rows, or one node's datasets, contributes
 * to an aggregate output, merged exactly with the others before min_group_size and DP are
 * applied once (so a group small everywhere but large in the union is released, and one
 * large in a part but small in the union is not).
 *
 *   const parts = await computePartials(doc, inputs);      // per output step, in each enclave
 *   const bytes = encodePartial(parts.by_region);           // seal and send to the coordinator
 *   const merged = mergePartials([decodePartial(bytes), …]); // in the coordinating enclave
 *   const output = finalizePartial(merged);                  // released like a local run's
 */
export { type PartialRunOptions, computePartials, partialsFromRaw } from './compute.ts';
export { decodePartial, encodePartial } from './codec.ts';
export { type FinalizeOptions, finalizePartial } from './finalize.ts';
export { mergePartials } from './merge.ts';
export { type PartialPlan, planPartials, QUANTILE_PARTIAL_BINS } from './plan.ts';
export {
  type MeasureState,
  PARTIAL_VERSION,
  type PartialAggregate,
  PartialAggregateSchema,
  type PartialGroup,
  type PartialMeasure,
  type PartialSpec,
} from './schema.ts';
