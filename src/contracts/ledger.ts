/**
 * The enclave's ledger: every privacy-budget spend (with the approval runs a job used) and every policy update it applies,
 * as a hash-chained sequence of entries it signs. The entries' effect (budget spent per
 * dataset, policy version per dataset) lives in the sealed state; each entry's head (worker
 * key, sequence number, entry hash; chain/ledger.ts) goes on chain before the entry takes
 * effect (a spending job reads its inputs, a policy update is acknowledged).
 *
 * Rollback protection: before it spends, the enclave scans the blocks since it last looked
 * for heads of its own key. A head with a higher sequence number than its state knows means
 * the host restored an older copy of the sealed state, which could re-spend a budget: the
 * enclave refuses ('enclave_state_rollback') instead of running.
 */
import { z } from 'zod';
import { ed25519Sign, ed25519Verify } from '../common/ed25519.ts';
import { ObscuraError } from '../common/errors.ts';
import { hashJson } from '../common/hash.ts';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** One dataset's charge in a spend entry. */
export const ChargeSchema = z.object({
  dataset: hex64,
  epsilon: z.number().nonnegative(),
  delta: z.number().nonnegative(),
});
/** One dataset's charge. */
export type Charge = z.infer<typeof ChargeSchema>;

/** A ledger entry, as the enclave signs it. */
export const LedgerEntrySchema = z.object({
  obscura: z.literal('ledger-entry/1'),
  /** The worker's Ed25519 result-signing key (hex). */
  worker: hex64,
  seq: z.number().int().min(1),
  /** Hash of the previous entry (null for the first). */
  prev: hex64.nullable(),
  body: z.discriminatedUnion('kind', [
    /**
     * What a job consumes: privacy budget (charges) and runs of owners' approvals (by
     * statement hash; one each). One entry per job, committed and anchored before the job
     * reads any data, so it binds to what exists then: `request`, the hash of the analyst's
     * job request (jobRequestHash), which the result carries. `result` (a result body's hash)
     * is what entries made before that named; verifiers still accept it.
     */
    z.object({
      kind: z.literal('spend'),
      job: z.string(),
      request: hex64.optional(),
      result: hex64.optional(),
      charges: z.array(ChargeSchema),
      runs: z.array(hex64).min(1).optional(),
    }),
    z.object({
      kind: z.literal('policy'),
      dataset: hex64,
      version: z.number().int().min(2),
      revoked: z.boolean(),
      update: hex64,
    }),
  ]),
  createdAt: z.iso.datetime(),
});
/** A ledger entry. */
export type LedgerEntry = z.infer<typeof LedgerEntrySchema>;

/** A ledger entry with the enclave's signature. */
export const SignedLedgerEntrySchema = z.object({
  entry: LedgerEntrySchema,
  signature: z.string().regex(/^[0-9a-f]{128}$/),
});
/** A signed ledger entry. */
export type SignedLedgerEntry = z.infer<typeof SignedLedgerEntrySchema>;

/** The ledger part of the sealed state. */
export const LedgerStateSchema = z.object({
  seq: z.number().int().nonnegative(),
  head: hex64.nullable(),
  /** The last block scanned for this worker's heads. */
  syncedBlock: z.number().int().nonnegative(),
  /** The chain the ledger is pinned to: genesis and block #1 hashes. */
  chain: z.object({ genesisHash: z.string(), block1Hash: z.string() }).optional(),
  /** Policy version and revocation per dataset (manifest hash); absent: version 1. */
  policies: z.record(hex64, z.object({ version: z.number().int().min(2), revoked: z.boolean() })),
  /** Budget spent per dataset (manifest hash), in the exact units of the privacy budget ledger. */
  spent: z.record(hex64, z.object({ epsilon: z.string().regex(/^\d+$/), delta: z.string().regex(/^\d+$/) })),
  /** Runs used per owner's approval (its statement hash); the approval's `runs` is the limit. */
  runs: z.record(hex64, z.number().int().min(1)).default({}),
  /**
   * Job requests already run (request hash → its createdAt), so a host cannot replay a
   * signed request; pruned once too old for the enclave to run anyway.
   */
  requests: z.record(hex64, z.iso.datetime()).default({}),
  /**
   * Entries persisted whose heads the host has not yet shown on chain, oldest first. Kept in
   * the sealed state, not in memory, so that a host or enclave that died between the commit
   * and the anchor can still place them after a restart (ledger_unconfirmed).
   */
  unconfirmed: z.array(SignedLedgerEntrySchema).default([]),
});
/** The ledger part of the sealed state. */
export type LedgerState = z.infer<typeof LedgerStateSchema>;

/** The ledger of a worker that has never written one. */
export const EMPTY_LEDGER: LedgerState = {
  seq: 0,
  head: null,
  syncedBlock: 0,
  policies: {},
  spent: {},
  runs: {},
  requests: {},
  unconfirmed: [],
};

function entryBytes(entry: LedgerEntry): Uint8Array {
  return new TextEncoder().encode(`obscura-ledger-entry/1\n${hashJson(entry)}`);
}

/** The hash of an entry (the one its chain head carries). */
export function ledgerEntryHash(entry: LedgerEntry): string {
  return hashJson(entry);
}

/** The next entry after `state`, signed with the worker's key. */
export function nextEntry(
  state: LedgerState,
  worker: string,
  body: LedgerEntry['body'],
  seed: Uint8Array,
): SignedLedgerEntry {
  const entry: LedgerEntry = {
    obscura: 'ledger-entry/1',
    worker,
    seq: state.seq + 1,
    prev: state.head,
    body,
    createdAt: new Date().toISOString(),
  };
  return { entry, signature: ed25519Sign(seed, entryBytes(entry)) };
}

/** True when the worker key `entry.worker` signed the entry. */
export function verifyLedgerEntry(signed: SignedLedgerEntry): boolean {
  return ed25519Verify(signed.entry.worker, entryBytes(signed.entry), signed.signature);
}

/** State after appending `signed` (whose effect the caller applies to `policies` / `spent`). */
export function appended(state: LedgerState, signed: SignedLedgerEntry): LedgerState {
  return { ...state, seq: signed.entry.seq, head: ledgerEntryHash(signed.entry) };
}

/** A head the chain holds, as the freshness check sees it. */
export interface ObservedHead {
  seq: number;
  entry: string;
  blockNumber: number;
}

/**
 * Throw 'enclave_state_rollback' (409) when the chain holds a head this state does not know:
 * a higher sequence number, or the same number with another entry.
 */
export function assertFresh(state: LedgerState, heads: readonly ObservedHead[]): void {
  for (const h of heads) {
    if (h.seq > state.seq || (h.seq === state.seq && h.entry !== state.head)) {
      throw new ObscuraError(
        'enclave_state_rollback',
        `the chain holds this worker's ledger entry #${h.seq} (block #${h.blockNumber}) but the enclave's sealed state stops at #${state.seq}: its state was rolled back, so it refuses to spend privacy budget`,
        409,
        { chainSeq: h.seq, stateSeq: state.seq },
      );
    }
  }
}
