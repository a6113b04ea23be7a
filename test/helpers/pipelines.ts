/**
 * The count pipelines over the sample visits that several tests run (the fault harnesses, the
 * outage and crash-spend tests). One text each, so their hashes agree wherever they are
 * submitted.
 */

/** A count over all rows (no DP). */
export const COUNT = `obscura: 1
name: count
inputs: { visits: { columns: { region: string } } }
steps:
  - id: n
    aggregate: { from: visits, measures: { n: { count: "*" } } }
outputs: { n: { min_group_size: 10 } }
`;

/** The same count released with epsilon 0.25. */
export const DP_COUNT = COUNT.replace('name: count', 'name: dp-count').replace(
  'min_group_size: 10 }',
  'min_group_size: 10, dp: { epsilon: 0.25 } }',
);
