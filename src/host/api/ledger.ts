/**
 * The host's part of the enclaves' budget ledgers: place an entry's head on chain, have the
 * enclave check the placement (it then runs what waited for it), and keep the entry and its
 * placement so owners and auditors can read the ledger.
 */
import type { LedgerPlacement } from '../../chain/ledger.ts';
import type { SignedLedgerEntry } from '../../contracts/ledger.ts';
import { ledgerEntryHash } from '../../contracts/ledger.ts';
import type { ResponseValue } from '../../contracts/enclave-protocol.ts';
import type { HostContext } from './context.ts';

/**
 * Anchor `signed`'s head, store it and confirm it with the worker's enclave. The confirmation
 * runs whatever waited for the entry (a spending job runs only then), so it takes the job's
 * progress callback and deadline.
 */
export async function placeLedgerEntry(
  ctx: HostContext,
  worker: string,
  signed: SignedLedgerEntry,
  opts: { onProgress?: (fraction: number, message: string) => void; deadlineMs?: number } = {},
): Promise<ResponseValue<'confirm_ledger'> & { placement: LedgerPlacement }> {
  const head = { worker: signed.entry.worker, seq: signed.entry.seq, entry: ledgerEntryHash(signed.entry) };
  const placement = await ctx.chain.anchorLedgerHead(head);
  ctx.privacy.putLedgerEntry(worker, signed.entry.seq, signed, placement);
  ctx.log(
    'info',
    `ledger entry #${signed.entry.seq} (${signed.entry.body.kind}) of worker ${worker} anchored in block #${placement.blockNumber}`,
  );
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
