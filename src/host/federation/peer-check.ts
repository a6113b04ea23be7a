/**
 * Who may call a node-to-node route: the operator of a fresh node record on the chain
 * (the request is signed with that operator's key, so the signature already names it),
 * whose workers run code this node accepts, whose record's URL answers with that same
 * operator's record (the URL is bound to the key: a record that names another node's URL
 * is refused), and whose workers attest now, at that URL, for a nonce of this node. A node
 * not on the chain, stale, running other code or failing attestation is refused 403 with a
 * stable code naming why. The URL and attestation checks are kept for a minute per record,
 * so a busy peer is not re-attested on every request.
 */
import { ObscuraError, errorMessage } from '../../common/errors.ts';
import { type NodeRecord, SignedNodeRecordSchema, checkNodeRecord } from '../../contracts/node-record.ts';
import { attestNode, type PeerAcceptance } from './peer-attestation.ts';
import type { NodeRegistry } from './registry.ts';

/** How long a peer's URL and attestation check holds. */
export const PEER_CHECK_TTL_MS = 60_000;
/** How long a peer's URL may take to answer the check. */
const URL_CHECK_MS = 10_000;

const passed = new WeakMap<NodeRegistry, Map<string, number>>();

function refuse(code: string, detail: string, operator: string): ObscuraError {
  return new ObscuraError(code, detail, 403, { node: operator });
}

/** Whether the node at `record.url` says it is `record.operator` (a record it signed, for this chain, fresh). */
async function urlIsBound(record: NodeRecord): Promise<string | undefined> {
  let body: unknown;
  try {
    const res = await fetch(`${record.url}/v1/federation/node`, {
      signal: AbortSignal.timeout(URL_CHECK_MS),
    });
    if (!res.ok) return `${record.url} answered ${res.status}`;
    body = await res.json();
  } catch (e) {
    return `${record.url} cannot be reached: ${errorMessage(e)}`;
  }
  const signed = SignedNodeRecordSchema.safeParse(body);
  if (!signed.success) return `${record.url} sent no node record`;
  const checked = checkNodeRecord(signed.data, { now: Date.now(), chain: record.chain });
  if (!checked.ok) return `${record.url} sent a record that does not verify (${checked.problem})`;
  if (checked.record.operator !== record.operator)
    return `${record.url} is the node of another operator (${checked.record.operator})`;
  return undefined;
}

/**
 * Throw unless `caller` may speak as a node (see the file comment): 403 'node_unknown', 'node_stale', 'node_code_not_accepted',
 * 'node_url_unbound', 'node_attestation_failed'.
 */
export async function assertPeerNode(
  registry: NodeRegistry | undefined,
  caller: string,
  accept: PeerAcceptance,
): Promise<NodeRecord> {
  // A host that reads no registry knows no node.
  if (!registry) throw refuse('node_unknown', 'this host reads no node registry: it knows no node', caller);
  const known = await registry.node(caller);
  if (!known) throw refuse('node_unknown', `${caller} has no node record on the chain`, caller);
  const { record } = known;
  if (!known.fresh)
    throw refuse(
      'node_stale',
      `the node record of ${caller} expired at ${new Date(record.issuedAt + record.ttlMs).toISOString()}`,
      caller,
    );
  const foreign = record.workers.filter((w) => !accept.measurements.includes(w.measurement));
  if (foreign.length > 0)
    throw refuse(
      'node_code_not_accepted',
      `node ${record.url} runs code this node does not accept (${foreign.map((w) => `${w.id}: ${w.measurement}`).join(', ')})`,
      caller,
    );
  let cache = passed.get(registry);
  if (!cache) {
    cache = new Map();
    passed.set(registry, cache);
  }
  const key = `${caller}\n${record.issuedAt}`;
  if ((cache.get(key) ?? 0) > Date.now()) return record;
  const unbound = await urlIsBound(record);
  if (unbound)
    throw refuse('node_url_unbound', `the URL of ${caller}'s record is not its node: ${unbound}`, caller);
  const verdicts = await attestNode(record, accept);
  const failed = [...verdicts].filter(([, v]) => !v.ok);
  if (failed.length > 0)
    throw refuse(
      'node_attestation_failed',
      `node ${record.url} failed attestation (${failed.map(([id, v]) => `${id}: ${v.detail}`).join('; ')})`,
      caller,
    );
  cache.set(key, Date.now() + PEER_CHECK_TTL_MS);
  return record;
}
