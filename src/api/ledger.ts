/**
 * The host's part of the enclaves' budget ledgers: place an entry's head on chain, have the
 * enclave check the placement (it releases what waited for it), and keep the entry and its
 * placement so owners and auditors can read the ledger.
 */
import type { LedgerPlacement } from '../chain/ledger.ts';
import type { SignedLedgerEntry } from '../enclave/ledger.ts';
import { ledgerEntryHash } from '../enclave/ledger.ts';
import type { ResponseValue } from '../enclave/protocol.ts';
import type { HostContext } from './context.ts';

/** Anchor `signed`'s head, confirm it with the worker's enclave and store it. */
export async function placeLedgerEntry(
  ctx: HostContext,
  worker: string,
  signed: SignedLedgerEntry,
): Promise<ResponseValue<'confirm_ledger'> & { placement: LedgerPlacement }> {
  const head = { worker: signed.entry.worker, seq: signed.entry.seq, entry: ledgerEntryHash(signed.entry) };
  const placement = await ctx.chain.anchorLedgerHead(head);
  ctx.privacy.putLedgerEntry(worker, signed.entry.seq, signed, placement);
  const confirmed = await ctx.workers.get(worker).request('confirm_ledger', { placement });
  ctx.log('info', `ledger entry #${signed.entry.seq} (${signed.entry.body.kind}) of worker ${worker} anchored in block #${placement.blockNumber}`);
  return { ...confirmed, placement };
}
