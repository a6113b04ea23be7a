/**
 * A result's provenance checked in the page against a chain endpoint the reader chooses, not
 * the API host's word: the result hashes to the hash and id its document records, and that
 * hash is anchored on the chosen chain (the block by hash, canonical, the extrinsic a
 * system.remarkWithEvent signed by the receipt's signer, its remark the Merkle root the
 * result's proof reaches, the chain the receipt names). The checks are the CLI's own
 * (src/chain/client.ts, which `obscura verify` runs), over @polkadot/api in the browser.
 *
 * Loaded on demand (its own chunk, about as large as the rest of the page): only a reader
 * who asks for the check downloads the chain client.
 */
import { ChainClient } from '../../../../chain/client.ts';
import { quietPolkadot } from '../../../../chain/quiet-logs.ts';
import type { AnchorReceipt } from '../../../../chain/schemas.ts';
import { resultId, type SignedResult, signedResultHash } from '../../../../contracts/result.ts';

/** What the page found: every check by name, and whether all passed. */
export interface ChainVerdict {
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string }[];
}

/** Check result document `doc` (untrusted, as the host sent it) against the chain at `endpoint`. */
export async function checkOnChain(
  doc: { id?: unknown; hash?: unknown; signed?: unknown; anchor?: unknown },
  endpoint: string,
): Promise<ChainVerdict> {
  if (!/^wss?:\/\/[^\s]+$/.test(endpoint))
    return { ok: false, checks: [{ name: 'endpoint', ok: false, detail: 'give a ws:// or wss:// URL' }] };
  let hash: string;
  let idOk: boolean;
  try {
    hash = signedResultHash(doc.signed as SignedResult);
    idOk = resultId(doc.signed as SignedResult) === doc.id;
  } catch {
    return {
      ok: false,
      checks: [{ name: 'result hash', ok: false, detail: 'the result document is malformed' }],
    };
  }
  const own = {
    name: 'result hash',
    ok: hash === doc.hash && idOk,
    detail:
      hash === doc.hash && idOk
        ? `the signed result hashes to ${hash}, its recorded hash and id`
        : 'the signed result does not hash to its recorded hash or id (an altered copy?)',
  };
  // A chain that lacks the block answers "not found", which @polkadot also logs as an error;
  // the verdict below names it, so the console stays for the page's own failures.
  quietPolkadot();
  const chain = await ChainClient.connect(endpoint, { timeoutMs: 20_000 });
  try {
    // The record is the hash computed here, never the document's own claim.
    const anchor = await chain.verifyAnchor(doc.anchor as AnchorReceipt, { kind: 'result', hash });
    const checks = [own, ...anchor.checks];
    return { ok: checks.every((c) => c.ok), checks };
  } finally {
    await chain.close().catch(() => undefined);
  }
}
