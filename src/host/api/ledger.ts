/**
 * The host's part of the enclaves' budget ledgers: place an entry's head on chain, have the
 * enclave check the placement (it then runs what waited for it), and keep the entry and its
 * placement so owners and auditors can read the ledger.
 *
 * Crash safety: the enclave keeps every entry whose head it has not seen confirmed in its
 * sealed state. After a restart (of the host, or of a worker's enclave) the host asks for
 * them and places each, looking first whether the head already reached the chain before the
 * crash (recoverLedger). Policy updates the host recorded before their worker answered are
 * then settled by the worker's ledger: applied (its entry exists) or dropped.
 */
import type { LedgerPlacement } from '../../chain/ledger.ts';
import { failpoint } from '../../common/failpoint.ts';
import type { SignedLedgerEntry } from '../../contracts/ledger.ts';
import { ledgerEntryHash, SignedLedgerEntrySchema } from '../../contracts/ledger.ts';
import type { ResponseValue } from '../../contracts/enclave-protocol.ts';
import { statementHash } from '../../privacy/statements.ts';
import { untilAnchored } from './anchoring.ts';
import type { HostContext } from './context.ts';

/** Options of placeLedgerEntry. */
export interface PlaceOptions {
  onProgress?: (fraction: number, message: string) => void;
  deadlineMs?: number;
  /** Called while the head waits for an unreachable chain. */
  onWait?: (message: string) => void;
  /** Called once the head is on chain, before the enclave runs what waited for it. */
  onPlaced?: () => void;
  /** Look for the head on chain before anchoring it (a restart: it may have got there before the crash). */
  recovering?: boolean;
}

/**
 * Anchor `signed`'s head (waiting out chain outages), store it and confirm it with the
 * worker's enclave. The confirmation runs whatever waited for the entry (a spending job runs
 * only then), so it takes the job's progress callback and deadline.
 */
export async function placeLedgerEntry(
  ctx: HostContext,
  worker: string,
  signed: SignedLedgerEntry,
  opts: PlaceOptions = {},
): Promise<ResponseValue<'confirm_ledger'> & { placement: LedgerPlacement }> {
  const head = { worker: signed.entry.worker, seq: signed.entry.seq, entry: ledgerEntryHash(signed.entry) };
  const what = `ledger entry #${head.seq} of worker ${worker}`;
  const placement = await untilAnchored(
    what,
    async () =>
      (opts.recovering ? await findHead(ctx, worker, head) : undefined) ?? ctx.chain.anchorLedgerHead(head),
    {
      health: ctx.chainHealth,
      log: ctx.log,
      signal: ctx.shutdown,
      ...(opts.onWait ? { onWait: opts.onWait } : {}),
    },
  );
  // The crash harness's point is the first placement; a recovery's placement resumes it.
  if (!opts.recovering) failpoint('ledger.anchored');
  ctx.privacy.putLedgerEntry(worker, signed.entry.seq, signed, placement);
  ctx.log(
    'info',
    `ledger entry #${signed.entry.seq} (${signed.entry.body.kind}) of worker ${worker} anchored in block #${placement.blockNumber}`,
  );
  opts.onPlaced?.();
  const confirmed = await ctx.workers
    .get(worker)
    .request(
      'confirm_ledger',
      { placement },
      opts.onProgress,
      opts.deadlineMs === undefined ? {} : { deadlineMs: opts.deadlineMs },
    );
  return { ...confirmed, placement };
}

/** The head's placement if the chain holds it after the worker's last stored entry, else undefined. */
async function findHead(
  ctx: HostContext,
  worker: string,
  head: LedgerPlacement['head'],
): Promise<LedgerPlacement | undefined> {
  const stored = ctx.privacy.ledgerEntries(worker);
  const from = (stored[stored.length - 1]?.placement.blockNumber ?? 0) + 1;
  const { heads } = await ctx.chain.ledgerHeads(head.worker, from);
  return heads.find((h) => h.head.seq === head.seq && h.head.entry === head.entry);
}

/**
 * After a restart: place the worker's entries committed but never confirmed, then settle the
 * policy updates of its datasets that were recorded before the worker answered. Waits out
 * chain outages; throws 'host_stopping' if the host stops first.
 */
export async function recoverLedger(ctx: HostContext, worker: string): Promise<void> {
  const { entries } = await ctx.workers.get(worker).request('ledger_unconfirmed', {});
  for (const signed of entries) {
    await placeLedgerEntry(ctx, worker, signed, { recovering: true });
    ctx.log(
      'warn',
      `ledger entry #${signed.entry.seq} (${signed.entry.body.kind}) of worker ${worker}, committed before a crash, is now on chain`,
    );
  }
  const applied = new Set(
    ctx.privacy.ledgerEntries(worker).flatMap((stored) => {
      const parsed = SignedLedgerEntrySchema.safeParse(stored.document);
      const body = parsed.success ? parsed.data.entry.body : undefined;
      return body?.kind === 'policy' ? [body.update] : [];
    }),
  );
  for (const { datasetId, signed } of ctx.privacy.pendingPolicyUpdates()) {
    if (ctx.metadata.dataset(datasetId).worker !== worker) continue;
    if (applied.has(statementHash(signed))) {
      ctx.privacy.promotePolicyUpdate(datasetId, signed);
      ctx.log(
        'warn',
        `policy version ${signed.update.version} of dataset ${datasetId}: applied before a crash, in force`,
      );
    } else {
      ctx.privacy.dropPendingPolicyUpdate(datasetId, signed.update.version);
      ctx.log(
        'warn',
        `policy version ${signed.update.version} of dataset ${datasetId}: never applied before a crash, dropped`,
      );
    }
  }
}
