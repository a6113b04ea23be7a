/**
 * Independent check of one anchored record against its receipt, reading only the chain:
 * the block by hash, the extrinsic at the receipt's index (a signed system.remarkWithEvent),
 * its remark decoded to a Merkle root, the record's proof reaching that root, the block being
 * canonical, the chain being the receipt's chain and the System.Remarked event existing.
 * A failed check is reported, never thrown; only an unreachable chain throws.
 */
import type { ApiPromise } from '@polkadot/api';
import type { Bytes } from '@polkadot/types';
import type { SignedBlock } from '@polkadot/types/interfaces';
import { u8aEq } from '@polkadot/util';
import { blake2AsHex, decodeAddress } from '@polkadot/util-crypto';
import { ObscuraError, errorMessage } from '../common/errors.ts';
import { verifyMerkleProof } from './merkle.ts';
import { type AnchorRecord, AnchorRecordSchema, decodeRemark, recordLeaf } from './records.ts';
import {
  type AnchorCheck,
  type AnchorCheckItem,
  type AnchorCheckName,
  type AnchorReceipt,
  AnchorReceiptSchema,
  type ChainIdentity,
} from './schemas.ts';

/** The parts of a System.Events record this check reads. */
interface EventRecordLike {
  phase: { isApplyExtrinsic: boolean; asApplyExtrinsic: { toNumber(): number } };
  event: { section: string; method: string; data: unknown };
}

/** True when two identities name the same chain: same genesis hash and same block #1 hash. */
export function sameChain(a: ChainIdentity, b: ChainIdentity): boolean {
  return a.genesisHash === b.genesisHash && a.block1Hash === b.block1Hash;
}

function sameAccount(a: string, b: Uint8Array): boolean {
  try {
    return u8aEq(decodeAddress(a), b);
  } catch {
    return false;
  }
}

/**
 * Runs every check of `record` against `receipt` (both untrusted) on `api`, whose identity is
 * `current`. Returns ok only when all checks pass. Throws 'chain_unreachable' (503) when the
 * connection is lost; any other failure is a failed check.
 */
export async function verifyAnchorOn(
  api: ApiPromise,
  current: ChainIdentity,
  endpoint: string,
  untrustedReceipt: unknown,
  untrustedRecord: unknown,
): Promise<AnchorCheck> {
  const checks: AnchorCheckItem[] = [];
  const add = (name: AnchorCheckName, ok: boolean, detail: string): boolean => {
    checks.push({ name, ok, detail });
    return ok;
  };
  const done = (): AnchorCheck => ({ ok: checks.length > 0 && checks.every((c) => c.ok), checks });
  const rpc = async <T>(call: () => Promise<T>): Promise<T | Error> => {
    try {
      return await call();
    } catch (e) {
      if (!api.isConnected) {
        throw new ObscuraError(
          'chain_unreachable',
          `lost the connection to the chain at ${endpoint}`,
          503,
          { endpoint },
          { cause: e },
        );
      }
      return e instanceof Error ? e : new Error(String(e));
    }
  };

  const parsedReceipt = AnchorReceiptSchema.safeParse(untrustedReceipt);
  const parsedRecord = AnchorRecordSchema.safeParse(untrustedRecord);
  if (!parsedReceipt.success || !parsedRecord.success) {
    const issue = (parsedReceipt.error ?? parsedRecord.error)?.issues[0];
    const which = parsedReceipt.success ? 'record' : 'receipt';
    add('receipt', false, `malformed ${which}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
    return done();
  }
  const receipt: AnchorReceipt = parsedReceipt.data;
  const record: AnchorRecord = parsedRecord.data;
  add('receipt', true, 'receipt and record are well-formed');

  add(
    'chain',
    sameChain(receipt.chain, current),
    sameChain(receipt.chain, current)
      ? `same chain "${current.chainName}" (genesis ${current.genesisHash}, block #1 ${current.block1Hash})`
      : `receipt names chain "${receipt.chain.chainName}" (genesis ${receipt.chain.genesisHash}, block #1 ${receipt.chain.block1Hash}); connected to "${current.chainName}" (genesis ${current.genesisHash}, block #1 ${current.block1Hash})`,
  );

  const signed = await rpc(() => api.rpc.chain.getBlock(receipt.blockHash));
  if (signed instanceof Error || !signed) {
    add(
      'block',
      false,
      `block ${receipt.blockHash} not found${signed instanceof Error ? `: ${signed.message}` : ''}`,
    );
    return done();
  }
  const block = (signed as SignedBlock).block;
  const number = block.header.number.toNumber();
  if (
    !add(
      'block',
      number === receipt.blockNumber,
      `block ${receipt.blockHash} is #${number}${number === receipt.blockNumber ? '' : `, receipt says #${receipt.blockNumber}`}`,
    )
  ) {
    return done();
  }

  const canonical = await rpc(() => api.rpc.chain.getBlockHash(receipt.blockNumber));
  const canonicalHex = canonical instanceof Error ? null : canonical.toHex();
  add(
    'canonical',
    canonicalHex === receipt.blockHash,
    canonicalHex === receipt.blockHash
      ? `block #${receipt.blockNumber} is on the canonical chain`
      : `the canonical block #${receipt.blockNumber} is ${canonicalHex ?? 'unknown'}, not ${receipt.blockHash}`,
  );

  const ex = block.extrinsics[receipt.extrinsicIndex];
  if (!ex) {
    add(
      'extrinsic',
      false,
      `block #${number} has ${block.extrinsics.length} extrinsics; none at index ${receipt.extrinsicIndex}`,
    );
    return done();
  }
  const apiAt = await rpc(() => api.at(receipt.blockHash));
  const registry = apiAt instanceof Error ? api.registry : apiAt.registry;
  let callName = 'unknown call';
  try {
    const meta = registry.findMetaCall(ex.callIndex);
    callName = `${meta.section}.${meta.method}`;
  } catch {
    // unknown call index: reported below
  }
  if (
    !add(
      'extrinsic',
      callName === 'system.remarkWithEvent',
      `extrinsic ${number}-${receipt.extrinsicIndex} is ${callName}`,
    )
  ) {
    return done();
  }

  const signerKey = ex.isSigned ? ex.signer.toU8a(true) : undefined;
  const signerOk =
    signerKey !== undefined && signerKey.length === 32 && sameAccount(receipt.signer, signerKey);
  add(
    'signer',
    signerOk,
    signerOk
      ? `signed by ${receipt.signer}`
      : `signed by ${ex.isSigned ? ex.signer.toString() : 'nobody'}, receipt says ${receipt.signer}`,
  );

  const remarkBytes = (ex.method.args[0] as Bytes).toU8a(true);
  let onChainRoot: string | undefined;
  let onChainCount: number | undefined;
  try {
    const payload = decodeRemark(remarkBytes);
    onChainRoot = payload.root;
    onChainCount = payload.recordCount;
    const same = payload.root === receipt.root && payload.recordCount === receipt.recordCount;
    add(
      'remark',
      same,
      same
        ? `remark anchors ${payload.recordCount} records under root ${payload.root}`
        : `remark anchors ${payload.recordCount} records under root ${payload.root}; receipt says ${receipt.recordCount} under ${receipt.root}`,
    );
  } catch (e) {
    add('remark', false, `remark is not an Obscura anchor: ${errorMessage(e)}`);
  }

  const leaf = recordLeaf(record);
  const root = onChainRoot ?? receipt.root;
  const count = onChainCount ?? receipt.recordCount;
  const proofOk = verifyMerkleProof(
    leaf,
    { leafIndex: receipt.leafIndex, leafCount: count, siblings: receipt.proof },
    root,
  );
  add(
    'merkle',
    proofOk,
    proofOk
      ? `${record.kind} ${record.hash} is leaf ${receipt.leafIndex} of ${count} under root ${root}`
      : `the proof does not lead from ${record.kind} ${record.hash} (leaf ${receipt.leafIndex} of ${count}) to root ${root}`,
  );

  const events =
    apiAt instanceof Error
      ? apiAt
      : await rpc(async () => (await apiAt.query.system!.events!()) as unknown as EventRecordLike[]);
  if (events instanceof Error) {
    add('event', false, `cannot read the events of block #${number}: ${events.message}`);
    return done();
  }
  const remarkHash = blake2AsHex(remarkBytes, 256);
  const found = events.some(({ phase, event }) => {
    if (!phase.isApplyExtrinsic || phase.asApplyExtrinsic.toNumber() !== receipt.extrinsicIndex) return false;
    if (event.section !== 'system' || event.method !== 'Remarked') return false;
    const [sender, hash] = event.data as unknown as [{ toU8a(): Uint8Array }, { toHex(): string }];
    return signerKey !== undefined && u8aEq(sender.toU8a(), signerKey) && hash.toHex() === remarkHash;
  });
  add(
    'event',
    found,
    found
      ? `System.Remarked(${receipt.signer}, ${remarkHash}) emitted by extrinsic ${number}-${receipt.extrinsicIndex}`
      : `no System.Remarked event from the signer with hash ${remarkHash} for extrinsic ${number}-${receipt.extrinsicIndex}`,
  );
  return done();
}
