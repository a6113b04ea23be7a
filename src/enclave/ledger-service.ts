/**
 * The enclave side of the budget ledger (ledger.ts): the chain connection it scans for its
 * own heads, reservations of budget and approval runs for running jobs, the job requests
 * already run, and the entries waiting for the host to place their heads on chain. Reservations are taken synchronously (JavaScript runs one
 * handler at a time between awaits), so concurrent jobs can never together spend more than
 * a dataset's budget. A job refused before it read data releases its reservation; one that
 * spends turns it into a signed spend entry persisted in the sealed state at once, before it
 * reads any data; the job reads data only once the host shows the entry's head on chain, and
 * the spend stands whatever happens next (jobs.ts).
 */
import { ObscuraError } from '../common/errors.ts';
import type { ChainClient } from '../chain/client.ts';
import type { LedgerPlacement } from '../chain/ledger.ts';
import { type BudgetTotals, budgetUnits, remainingOf, unitsToNumber } from './budget-units.ts';
import {
  appended,
  assertFresh,
  type Charge,
  type LedgerState,
  ledgerEntryHash,
  nextEntry,
  type SignedLedgerEntry,
} from '../contracts/ledger.ts';

/** A dataset's charge with the totals its policy allows (undefined: no limit). */
export interface BudgetCharge extends Charge {
  totals: BudgetTotals;
  /** For messages: the dataset id and input name. */
  label: string;
}

/** One run of an owner's approval that a job uses. */
export interface RunCharge {
  /** The approval's statement hash. */
  approval: string;
  /** The runs the approval allows. */
  runs: number;
  /** For messages: the dataset id and input name. */
  label: string;
}

/** A held reservation of budget and approval runs for one running job. */
export interface Reservation {
  id: number;
  charges: BudgetCharge[];
  runs: RunCharge[];
}

/** What the service needs from its host process. */
export interface LedgerServiceOptions {
  state: () => LedgerState;
  persist: (next: LedgerState) => void;
  workerKey: () => string;
  signingSeed: () => Uint8Array;
  /** Opens the chain; undefined when the enclave was given no chain. */
  connect?: () => Promise<ChainClient>;
}

/** Remaining budget of one dataset. */
export interface BudgetView {
  epsilon: { total: number | null; spent: number; remaining: number | null };
  delta: { total: number | null; spent: number; remaining: number | null };
}

/** The ledger, its reservations and its chain. */
export class LedgerService {
  #chain: Promise<ChainClient> | undefined;
  #reservations = new Map<number, Reservation>();
  #nextReservation = 1;

  constructor(private readonly opts: LedgerServiceOptions) {}

  /** The newest policy version applied to a dataset (by manifest hash), 1 when none. */
  policyVersion(dataset: string): { version: number; revoked: boolean } {
    return this.opts.state().policies[dataset] ?? { version: 1, revoked: false };
  }

  /** What a dataset has spent and has left under `totals`, counting running jobs' reservations as spent. */
  budget(dataset: string, totals: BudgetTotals): BudgetView {
    const spent = this.#spentUnits(dataset);
    const view = (kind: 'epsilon' | 'delta') => {
      const total = totals[kind];
      return {
        total: total ?? null,
        spent: unitsToNumber(kind, spent[kind]),
        remaining: total === undefined ? null : unitsToNumber(kind, remainingOf(kind, total, spent[kind])),
      };
    };
    return { epsilon: view('epsilon'), delta: view('delta') };
  }

  #spentUnits(dataset: string): { epsilon: bigint; delta: bigint } {
    const s = this.opts.state().spent[dataset];
    let epsilon = s ? BigInt(s.epsilon) : 0n;
    let delta = s ? BigInt(s.delta) : 0n;
    for (const r of this.#reservations.values()) {
      for (const c of r.charges) {
        if (c.dataset !== dataset) continue;
        epsilon += budgetUnits('epsilon', c.epsilon);
        delta += budgetUnits('delta', c.delta);
      }
    }
    return { epsilon, delta };
  }

  /** Runs of an approval used, counting running jobs' reservations as used. */
  #runsUsed(approval: string): number {
    let used = this.opts.state().runs[approval] ?? 0;
    for (const r of this.#reservations.values()) used += r.runs.filter((c) => c.approval === approval).length;
    return used;
  }

  /**
   * Record that the job request with hash `hash` (made at `createdAt`) runs now; throws
   * 'job_request_replayed' (409) if it ran before. Forgets requests older than `maxAgeMs`,
   * which the enclave refuses as expired anyway. Synchronous, and persisted before the
   * job touches data, so neither concurrency nor a restart lets a request run twice.
   */
  useRequest(hash: string, createdAt: string, maxAgeMs: number, now = Date.now()): void {
    const state = this.opts.state();
    if (state.requests[hash] !== undefined) {
      throw new ObscuraError(
        'job_request_replayed',
        'this signed job request was already run; the analyst must sign a new one',
        409,
      );
    }
    const requests = Object.fromEntries(
      Object.entries(state.requests).filter(([, t]) => now - Date.parse(t) <= maxAgeMs),
    );
    this.opts.persist({ ...state, requests: { ...requests, [hash]: createdAt } });
  }

  /**
   * Reserve every charge and run or none: throws 'budget_exhausted' (403) naming the first
   * dataset that would go below zero, or 'approval_runs_exhausted' (403) naming the first
   * approval whose runs are used up. Synchronous on purpose (see the file comment).
   */
  reserve(charges: BudgetCharge[], runs: RunCharge[] = []): Reservation {
    for (const c of runs) {
      if (this.#runsUsed(c.approval) + runs.filter((o) => o.approval === c.approval).length > c.runs) {
        throw new ObscuraError(
          'approval_runs_exhausted',
          `the owner's approval for ${c.label} allowed ${c.runs} run(s), all used`,
          403,
          { rule: 'runs', runs: c.runs },
        );
      }
    }
    for (const c of charges) {
      const spent = this.#spentUnits(c.dataset);
      for (const kind of ['epsilon', 'delta'] as const) {
        const total = c.totals[kind];
        if (total === undefined) continue;
        const left = remainingOf(kind, total, spent[kind]);
        if (budgetUnits(kind, c[kind]) > left) {
          throw new ObscuraError(
            'budget_exhausted',
            `dataset ${c.label} has ${unitsToNumber(kind, left)} ${kind} of privacy budget left; the job needs ${c[kind]}`,
            403,
            { dataset: c.dataset, kind, remaining: unitsToNumber(kind, left), requested: c[kind] },
          );
        }
      }
    }
    const r: Reservation = { id: this.#nextReservation++, charges, runs };
    this.#reservations.set(r.id, r);
    return r;
  }

  /** Drop a reservation (the job was refused before it was committed). */
  release(r: Reservation): void {
    this.#reservations.delete(r.id);
  }

  /**
   * Turn a reservation into a signed, persisted spend entry for the job whose request has
   * hash `requestHash` (jobRequestHash); it is what the job's result will carry.
   */
  commit(r: Reservation, job: string, requestHash: string): SignedLedgerEntry {
    if (!this.#reservations.has(r.id)) throw new Error('reservation already settled');
    const state = this.opts.state();
    const body = {
      kind: 'spend' as const,
      job,
      request: requestHash,
      charges: r.charges.map(({ dataset, epsilon, delta }) => ({ dataset, epsilon, delta })),
      ...(r.runs.length ? { runs: r.runs.map((c) => c.approval) } : {}),
    };
    const signed = nextEntry(state, this.opts.workerKey(), body, this.opts.signingSeed());
    const runs = { ...state.runs };
    for (const c of r.runs) runs[c.approval] = (runs[c.approval] ?? 0) + 1;
    const spent = { ...state.spent };
    for (const c of r.charges) {
      const before = spent[c.dataset] ?? { epsilon: '0', delta: '0' };
      spent[c.dataset] = {
        epsilon: (BigInt(before.epsilon) + budgetUnits('epsilon', c.epsilon)).toString(),
        delta: (BigInt(before.delta) + budgetUnits('delta', c.delta)).toString(),
      };
    }
    this.#reservations.delete(r.id);
    this.opts.persist({
      ...appended(state, signed),
      spent,
      runs,
      unconfirmed: [...state.unconfirmed, signed],
    });
    return signed;
  }

  /** Append and persist a policy-update entry. */
  applyPolicy(dataset: string, version: number, revoked: boolean, updateHash: string): SignedLedgerEntry {
    const state = this.opts.state();
    const signed = nextEntry(
      state,
      this.opts.workerKey(),
      { kind: 'policy', dataset, version, revoked, update: updateHash },
      this.opts.signingSeed(),
    );
    this.opts.persist({
      ...appended(state, signed),
      policies: { ...state.policies, [dataset]: { version, revoked } },
      unconfirmed: [...state.unconfirmed, signed],
    });
    return signed;
  }

  #client(): Promise<ChainClient> {
    const connect = this.opts.connect;
    if (!connect)
      throw new ObscuraError(
        'ledger_chain_unavailable',
        'the enclave was given no chain, so it cannot spend privacy budget or apply policy updates safely',
        503,
      );
    this.#chain ??= connect().catch((e: unknown) => {
      this.#chain = undefined;
      throw e;
    });
    return this.#chain;
  }

  /**
   * Scan the chain since the last scan for this worker's heads; throws
   * 'enclave_state_rollback' when the chain knows entries the state does not, and
   * 'ledger_chain_mismatch' when the enclave is pointed at another chain than its ledger's.
   */
  async ensureFresh(): Promise<void> {
    const chain = await this.#client();
    const id = await chain.identity();
    const state = this.opts.state();
    if (
      state.chain &&
      (state.chain.genesisHash !== id.genesisHash || state.chain.block1Hash !== id.block1Hash)
    ) {
      throw new ObscuraError(
        'ledger_chain_mismatch',
        `the enclave's ledger is pinned to the chain with block #1 ${state.chain.block1Hash}, not ${id.block1Hash}`,
        409,
      );
    }
    const { scannedTo, heads } = await chain.ledgerHeads(this.opts.workerKey(), state.syncedBlock + 1);
    const now = this.opts.state();
    assertFresh(
      now,
      heads.map((h) => ({ seq: h.head.seq, entry: h.head.entry, blockNumber: h.blockNumber })),
    );
    if (scannedTo > now.syncedBlock) {
      this.opts.persist({
        ...now,
        syncedBlock: scannedTo,
        chain: { genesisHash: id.genesisHash, block1Hash: id.block1Hash },
      });
    }
  }

  /**
   * Check that the host placed an unconfirmed entry's head on chain as `placement` says;
   * returns the entry. Throws 'ledger_placement_invalid' (422) otherwise.
   */
  async confirm(placement: LedgerPlacement): Promise<SignedLedgerEntry> {
    const signed = this.opts.state().unconfirmed.find((u) => u.entry.seq === placement.head.seq);
    if (
      !signed ||
      ledgerEntryHash(signed.entry) !== placement.head.entry ||
      placement.head.worker !== this.opts.workerKey()
    ) {
      throw new ObscuraError(
        'ledger_placement_invalid',
        `no unconfirmed ledger entry #${placement.head.seq} matches the placement`,
        422,
      );
    }
    const chain = await this.#client();
    if (!(await chain.hasLedgerHead(placement))) {
      throw new ObscuraError(
        'ledger_placement_invalid',
        `ledger entry #${placement.head.seq} is not in block #${placement.blockNumber} of the chain`,
        422,
      );
    }
    const now = this.opts.state();
    this.opts.persist({
      ...now,
      unconfirmed: now.unconfirmed.filter((u) => u.entry.seq !== placement.head.seq),
    });
    return signed;
  }

  /** Whether the entry with this sequence number is no longer waiting for its head on chain. */
  isConfirmed(seq: number): boolean {
    return !this.opts.state().unconfirmed.some((u) => u.entry.seq === seq);
  }

  /**
   * The entries whose heads are not confirmed on chain yet, oldest first: after a restart,
   * the host places them (a crash came between an entry's commit and its anchor).
   */
  unconfirmed(): SignedLedgerEntry[] {
    return this.opts.state().unconfirmed;
  }

  /** Close the chain connection. */
  async close(): Promise<void> {
    const chain = this.#chain;
    this.#chain = undefined;
    if (chain) await (await chain.catch(() => undefined))?.close();
  }
}
