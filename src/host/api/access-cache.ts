/**
 * Read-access decisions remembered until the database changes.
 *
 * Deciding whether a caller may read a job or a result reads the job, its pipeline and every
 * input's manifest and policy in force, and parses each: on a hot read (a result fetched by
 * many clients) that was most of the host's work per request. A decision depends only on
 * what the stores hold, so it is kept for as long as the database's version
 * (Metadata.version: any write through the host's connection, any other connection's commit)
 * stays the same; any write at all forgets every decision. Nothing is served from here: it
 * holds booleans, never the items.
 */
import type { Metadata } from '../store/index.ts';

/** Decisions kept at most; beyond it the set starts over. */
const MAX_DECISIONS = 10_000;

class Decisions {
  version = '';
  readonly byKey = new Map<string, boolean>();
}

const perStore = new WeakMap<Metadata, Decisions>();

/** `decide()`'s answer for `key` (caller, kind, id), remembered while `metadata` is unchanged. */
export function rememberedDecision(metadata: Metadata, key: string, decide: () => boolean): boolean {
  let d = perStore.get(metadata);
  if (!d) {
    d = new Decisions();
    perStore.set(metadata, d);
  }
  const version = metadata.version();
  if (version !== d.version || d.byKey.size >= MAX_DECISIONS) {
    d.byKey.clear();
    d.version = version;
  }
  const known = d.byKey.get(key);
  if (known !== undefined) return known;
  const answer = decide();
  d.byKey.set(key, answer);
  return answer;
}
