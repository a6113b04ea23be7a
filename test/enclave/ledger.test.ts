/**
 * The enclave's ledger without a chain process (the chain is a fake that only knows heads,
 * which is all the service asks of it): exact budget units, all-or-nothing reservations
 * that never let concurrent jobs overspend, hash-chained signed entries, and the rollback
 * refusal when the chain knows entries the state does not.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ChainClient, LedgerPlacement } from '../../src/chain/index.ts';
import { generateEd25519 } from '../../src/common/ed25519.ts';
import { budgetUnits, remainingOf, unitsToNumber } from '../../src/enclave/budget-units.ts';
import {
  EMPTY_LEDGER,
  type LedgerState,
  ledgerEntryHash,
  verifyLedgerEntry,
} from '../../src/contracts/ledger.ts';
import { type BudgetCharge, LedgerService } from '../../src/enclave/ledger-service.ts';

const D1 = 'a'.repeat(64);
const D2 = 'b'.repeat(64);
const key = generateEd25519();

function service(chainHeads: LedgerPlacement[] = []) {
  let state: LedgerState = EMPTY_LEDGER;
  const fake = {
    identity: async () => ({ genesisHash: '0x01', block1Hash: '0x02' }),
    ledgerHeads: async (_w: string, from: number) => ({
      scannedTo: 100,
      heads: chainHeads.filter((h) => h.blockNumber >= from),
    }),
    hasLedgerHead: async (p: LedgerPlacement) => chainHeads.some((h) => h.head.entry === p.head.entry),
  } as unknown as ChainClient;
  const svc = new LedgerService({
    state: () => state,
    persist: (next) => {
      state = next;
    },
    workerKey: () => key.publicKey,
    signingSeed: () => key.seed,
    connect: async () => fake,
  });
  return { svc, state: () => state, set: (s: LedgerState) => (state = s) };
}

const charge = (dataset: string, epsilon: number, total?: number): BudgetCharge => ({
  dataset,
  epsilon,
  delta: 0,
  totals: total === undefined ? {} : { epsilon: total },
  label: dataset.slice(0, 4),
});

describe('budget units', () => {
  it('are exact: a thousand spends of 0.001 make exactly 1', () => {
    let spent = 0n;
    for (let i = 0; i < 1000; i++) spent += budgetUnits('epsilon', 0.001);
    expect(remainingOf('epsilon', 1, spent)).toBe(0n);
    expect(budgetUnits('epsilon', 0.1) * 3n).toBe(budgetUnits('epsilon', 0.3));
    expect(unitsToNumber('delta', budgetUnits('delta', 1e-6))).toBe(1e-6);
  });
  it('round charges up and totals down, never below zero', () => {
    expect(budgetUnits('epsilon', 1e-13)).toBe(1n);
    expect(remainingOf('epsilon', 1e-13, 0n)).toBe(0n);
    expect(remainingOf('epsilon', 1, budgetUnits('epsilon', 2))).toBe(0n);
    expect(() => budgetUnits('epsilon', -1)).toThrow(RangeError);
  });
});

describe('LedgerService', () => {
  it('reserves all or nothing, and counts reservations as spent', () => {
    const { svc } = service();
    const r = svc.reserve([charge(D1, 0.6, 1), charge(D2, 0.6, 1)]);
    expect(() => svc.reserve([charge(D2, 0.1, 5), charge(D1, 0.5, 1)])).toThrow(
      expect.objectContaining({ code: 'budget_exhausted' }),
    );
    // The refused reservation took nothing from D2.
    expect(svc.budget(D2, { epsilon: 1 }).epsilon).toEqual({ total: 1, spent: 0.6, remaining: 0.4 });
    svc.release(r);
    expect(svc.budget(D1, { epsilon: 1 }).epsilon.remaining).toBe(1);
  });

  it('never lets concurrent jobs spend more than the budget', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 40 }),
        async (sizes) => {
          const { svc, state } = service();
          // Every job reserves, "runs" for a while, then commits or fails.
          const jobs = sizes.map(async (tenths, i) => {
            await new Promise((r) => setTimeout(r, i % 3));
            let r: ReturnType<LedgerService['reserve']>;
            try {
              r = svc.reserve([charge(D1, tenths / 10, 3)]);
            } catch {
              return 0;
            }
            await new Promise((res) => setTimeout(res, (i * 7) % 5));
            if (i % 5 === 4) {
              svc.release(r);
              return 0;
            }
            svc.commit(r, `job-${i}`, 'c'.repeat(64));
            return tenths;
          });
          const spent = (await Promise.all(jobs)).reduce((a, b) => a + b, 0);
          expect(spent).toBeLessThanOrEqual(30);
          expect(BigInt(state().spent[D1]?.epsilon ?? '0')).toBe(budgetUnits('epsilon', spent / 10));
          expect(svc.budget(D1, { epsilon: 3 }).epsilon.remaining).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('writes hash-chained, signed entries', () => {
    const { svc, state } = service();
    const a = svc.commit(svc.reserve([charge(D1, 0.5)]), 'j1', 'c'.repeat(64));
    const b = svc.applyPolicy(D1, 2, true, 'd'.repeat(64));
    expect(a.entry).toMatchObject({ seq: 1, prev: null, worker: key.publicKey });
    expect(b.entry).toMatchObject({ seq: 2, prev: ledgerEntryHash(a.entry) });
    expect(verifyLedgerEntry(a) && verifyLedgerEntry(b)).toBe(true);
    expect(verifyLedgerEntry({ ...a, entry: { ...a.entry, seq: 5 } })).toBe(false);
    expect(state()).toMatchObject({
      seq: 2,
      head: ledgerEntryHash(b.entry),
      policies: { [D1]: { version: 2, revoked: true } },
    });
    expect(svc.policyVersion(D1)).toEqual({ version: 2, revoked: true });
  });

  it('refuses to run on a state older than the chain, and accepts its own heads', async () => {
    const { svc, state } = service();
    const first = svc.commit(svc.reserve([charge(D1, 0.5)]), 'j1', 'c'.repeat(64));
    const old = state();
    const second = svc.commit(svc.reserve([charge(D1, 0.5)]), 'j2', 'c'.repeat(64));
    const heads: LedgerPlacement[] = [first, second].map((s, i) => ({
      head: { worker: key.publicKey, seq: s.entry.seq, entry: ledgerEntryHash(s.entry) },
      blockHash: `0x${String(i).repeat(64)}`,
      blockNumber: 10 + i,
      extrinsicIndex: 1,
    }));
    const fresh = service(heads);
    fresh.set(state());
    await expect(fresh.svc.ensureFresh()).resolves.toBeUndefined();
    expect(fresh.state().syncedBlock).toBe(100);
    const rolledBack = service(heads);
    rolledBack.set(old);
    await expect(rolledBack.svc.ensureFresh()).rejects.toMatchObject({
      code: 'enclave_state_rollback',
      status: 409,
    });
    // Unconfirmed entries live in the sealed state, so a restarted enclave (a new service on
    // the same state) confirms one the chain holds, once: a crash between commit and anchor
    // loses no entry. The placement check: only an unconfirmed entry of this worker.
    expect(fresh.svc.unconfirmed().map((u) => u.entry.seq)).toEqual([1, 2]);
    await expect(fresh.svc.confirm(heads[1] as LedgerPlacement)).resolves.toMatchObject({
      entry: second.entry,
    });
    expect(fresh.svc.isConfirmed(2)).toBe(true);
    expect(fresh.svc.unconfirmed().map((u) => u.entry.seq)).toEqual([1]);
    await expect(fresh.svc.confirm(heads[1] as LedgerPlacement)).rejects.toMatchObject({
      code: 'ledger_placement_invalid',
    });
    // The service that wrote the entry confirms it once the chain holds it, and only once.
    const writer = service(heads);
    writer.set(EMPTY_LEDGER);
    const entry = writer.svc.commit(writer.svc.reserve([charge(D1, 0.5)]), 'j1', 'c'.repeat(64));
    const placed = {
      ...(heads[0] as LedgerPlacement),
      head: { worker: key.publicKey, seq: 1, entry: ledgerEntryHash(entry.entry) },
    };
    // Its head is not on this chain (the fake holds other entries): refused.
    await expect(writer.svc.confirm(placed)).rejects.toMatchObject({ code: 'ledger_placement_invalid' });
  });

  it('refuses to spend without a chain', async () => {
    let state: LedgerState = EMPTY_LEDGER;
    const svc = new LedgerService({
      state: () => state,
      persist: (s) => (state = s),
      workerKey: () => key.publicKey,
      signingSeed: () => key.seed,
    });
    await expect(svc.ensureFresh()).rejects.toMatchObject({ code: 'ledger_chain_unavailable', status: 503 });
  });
});
