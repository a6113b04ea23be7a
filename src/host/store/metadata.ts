/**
 * Typed access to the metadata database: one method per question the host asks. The class is
 * written one concept a file under metadata/, each layer adding its tables' questions to the
 * one below (datasets, pipelines, jobs, results, upgrade authorisations), so that the host
 * keeps one object over one connection while each file reads as one concept.
 */
import { UpgradesMetadata } from './metadata/upgrades.ts';

export type { ResultListRow } from './metadata/results.ts';

/** The host's metadata, over an open database. */
export class Metadata extends UpgradesMetadata {}
