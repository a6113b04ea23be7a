/**
 * Verifying a published result end to end, as an auditor would: the document's hash and id,
 * the enclave's signature, the analyst's signed job request (request-check.ts), the sealed
 * outputs (the ciphertext is the one signed; with a reader's key, the plaintext too), the
 * attestation binding that signing key to a measurement (and made for this very result),
 * each member enclave's part of a federated aggregate or training (federation-check.ts), and the anchor
 * of the result's hash on the chain. Each check is reported by name; nothing
 * here trusts the API host.
 */
import { verifyEvidence } from '../attestation/index.ts';
import type { AttestationPolicy } from '../attestation/policy.ts';
import type { Check } from '../attestation/verify.ts';
import { ChainClient } from '../chain/index.ts';
import type { ChainIdentity } from '../chain/schemas.ts';
import {
  dpOutputNames,
  resultBodyHash,
  resultId,
  signedResultHash,
  verifyResultSignature,
} from '../contracts/result.ts';
import { ledgerEntryHash, verifyLedgerEntry } from '../contracts/ledger.ts';
import type { ResultDocument } from '../contracts/api-records.ts';
import { documentOutputs, type ResultReaderKey } from './document.ts';
import { federationMemberChecks } from './federation-check.ts';
import { jobRequestCheck } from './request-check.ts';
import { jobRequestHash } from '../privacy/job-request.ts';
import { assertCiphertext } from '../contracts/result-outputs.ts';
import { isObscuraError, ObscuraError } from '../common/errors.ts';

/** The outcome of verifying a result document. */
export interface ResultVerdict {
  ok: boolean;
  simulated: boolean;
  checks: Check[];
}

/** Whether the result's evidence attests its 32-byte measurement itself (simulated, SGX MRENCLAVE). */
function evidenceAttestsMeasurement(doc: ResultDocument): boolean {
  return doc.attestation.tee === 'simulated' || doc.attestation.tee === 'sgx';
}

/** Whether a result released anything under differential privacy (a DP aggregate, a DP-SGD model); sealed results say so in the clear. */
function hasDpOutputs(body: ResultDocument['signed']['result']): boolean {
  return dpOutputNames(body).length > 0;
}

/**
 * A result's spend (privacy budget, approval runs): the ledger entry is signed by the
 * result's enclave key, is this job's and binds to the analyst's request the result carries
 * (the spend is committed before the job reads data, when no result exists yet; entries of
 * older releases named the result body's hash instead), charges exactly the result's inputs,
 * and its head is on chain where the document says. A result with DP outputs and no spend
 * fails: it would be a release nobody paid for.
 */
async function spendCheck(chain: ChainClient, doc: ResultDocument): Promise<Check> {
  const body = doc.signed.result;
  const spend = doc.spend;
  if (!spend)
    return {
      name: 'budget spend',
      ok: false,
      detail: 'the result has differentially private outputs but carries no anchored budget spend',
    };
  const { entry } = spend.entry;
  const problems: string[] = [];
  if (entry.worker !== body.enclave.signingKey || !verifyLedgerEntry(spend.entry))
    problems.push("the ledger entry is not signed by the result's enclave key");
  if (entry.body.kind !== 'spend') problems.push('the ledger entry is not a spend');
  else {
    const bound =
      entry.body.request !== undefined
        ? entry.body.request === jobRequestHash(body.request.request)
        : entry.body.result === resultBodyHash(body);
    if (entry.body.job !== body.job || !bound)
      problems.push("the ledger entry does not name this result's job and signed request");
    const charged = [...new Set(entry.body.charges.map((c) => c.dataset))].sort();
    const inputs = [...new Set(body.inputs.map((i) => i.manifestHash))].sort();
    if (hasDpOutputs(body) && charged.join() !== inputs.join())
      problems.push("the spend does not charge exactly the result's inputs");
  }
  const head = spend.placement.head;
  if (head.worker !== entry.worker || head.seq !== entry.seq || head.entry !== ledgerEntryHash(entry))
    problems.push('the placement is not of this entry');
  else if (!(await chain.hasLedgerHead(spend.placement)))
    problems.push(`ledger entry #${entry.seq} is not in block #${spend.placement.blockNumber}`);
  const spent =
    entry.body.kind === 'spend'
      ? entry.body.charges.map((c) => `epsilon ${c.epsilon}, delta ${c.delta} on ${c.dataset.slice(0, 16)}…`)
      : [];
  const runs =
    entry.body.kind === 'spend'
      ? (entry.body.runs ?? []).map((a) => `1 run of approval ${a.slice(0, 16)}…`)
      : [];
  const charges = [...spent, ...runs].join('; ');
  const when =
    entry.body.kind === 'spend' && entry.body.request !== undefined
      ? 'before the job read data'
      : 'before release';
  return {
    name: 'budget spend',
    ok: problems.length === 0,
    detail: problems.length
      ? problems.join('; ')
      : `ledger entry #${entry.seq} (${charges}) anchored in block #${spend.placement.blockNumber} ${when}`,
  };
}

/**
 * The outputs: public ones need nothing more (the signature covers them); sealed ones must
 * come with the ciphertext the enclave signed, and with a reader's key they are decrypted
 * and the plaintext checked against its signed hash too.
 */
async function outputsCheck(doc: ResultDocument, reader: ResultReaderKey | undefined): Promise<Check> {
  const out = doc.signed.result.outputs;
  if (out.visibility === 'public')
    return {
      name: 'outputs',
      ok: true,
      detail: "public: the pipeline asked for it and every input's policy allows it (signed in the clear)",
    };
  const readers = out.readers.map((r) => `${r.role} ${r.account}`).join(', ');
  try {
    if (doc.ciphertext === undefined)
      throw new ObscuraError(
        'result_ciphertext_missing',
        'the document carries no ciphertext for its sealed outputs',
        422,
      );
    assertCiphertext(out, Buffer.from(doc.ciphertext, 'base64'));
    if (!reader || !out.readers.some((r) => r.recipient === reader.resultRecipient)) {
      const why = reader
        ? 'your key is not one of its readers, so the plaintext is not checked'
        : 'give --key to decrypt and check the plaintext';
      return {
        name: 'outputs',
        ok: true,
        detail: `sealed to ${readers}; ciphertext sha256 ${out.ciphertextSha256.slice(0, 16)}… as signed (${why})`,
      };
    }
    await documentOutputs(doc, reader);
    return {
      name: 'outputs',
      ok: true,
      detail: `sealed to ${readers}; decrypted with your key, ciphertext and plaintext as signed`,
    };
  } catch (e) {
    if (!isObscuraError(e)) throw e;
    return { name: 'outputs', ok: false, detail: `${e.code}: ${e.message}` };
  }
}

/** Hashes a verifier pins the chain to (from its own configuration). */
export interface ChainPin {
  genesisHash?: string;
  block1Hash?: string;
}

/**
 * The chain the verifier is connected to is the one the result names, and the one the
 * verifier pinned: genesis hash and block #1 hash (embedded chains share a placeholder
 * genesis hash, so block #1 is what tells them apart).
 */
function chainIdentityCheck(connected: ChainIdentity, doc: ResultDocument, pin: ChainPin | undefined): Check {
  const named = doc.anchor.chain;
  const problems: string[] = [];
  if (connected.genesisHash !== named.genesisHash || connected.block1Hash !== named.block1Hash) {
    problems.push(
      `the result names chain "${named.chainName}" (genesis ${named.genesisHash}, block #1 ${named.block1Hash}), but the chain checked against is "${connected.chainName}" (genesis ${connected.genesisHash}, block #1 ${connected.block1Hash})`,
    );
  }
  if (pin?.genesisHash && pin.genesisHash !== connected.genesisHash)
    problems.push(`the chain's genesis hash ${connected.genesisHash} is not the pinned ${pin.genesisHash}`);
  if (pin?.block1Hash && pin.block1Hash !== connected.block1Hash)
    problems.push(`the chain's block #1 ${connected.block1Hash} is not the pinned ${pin.block1Hash}`);
  return {
    name: 'chain identity',
    ok: problems.length === 0,
    detail: problems.length
      ? problems.join('; ')
      : `"${connected.chainName}" (genesis ${connected.genesisHash}, block #1 ${connected.block1Hash})${pin?.genesisHash || pin?.block1Hash ? ', as pinned' : ''}`,
  };
}

/** Verify a result document against the chain at `chainEndpoint`, optionally pinned to known hashes. */
export async function verifyResultDocument(
  doc: ResultDocument,
  opts: {
    chainEndpoint: string;
    pin?: ChainPin;
    allowSimulated?: boolean;
    measurements?: readonly string[];
    policy?: AttestationPolicy;
    reader?: ResultReaderKey;
  },
): Promise<ResultVerdict> {
  const checks: Check[] = [];
  const body = doc.signed.result;
  const hash = signedResultHash(doc.signed);
  checks.push({
    name: 'result hash',
    ok: hash === doc.hash && resultId(doc.signed) === doc.id,
    detail:
      hash === doc.hash ? `sha256 ${hash}` : 'the result does not hash to the recorded hash (altered copy?)',
  });
  const sigOk = verifyResultSignature(doc.signed);
  checks.push({
    name: 'enclave signature',
    ok: sigOk,
    detail: sigOk
      ? `signed by enclave key ${body.enclave.signingKey.slice(0, 16)}…`
      : 'signature does not verify: the result was altered or not signed by this enclave',
  });
  checks.push(jobRequestCheck(body));
  checks.push(await outputsCheck(doc, opts.reader));
  const att = await verifyEvidence(doc.attestation, {
    nonce: resultBodyHash(body),
    keys: { signingKey: body.enclave.signingKey },
    // The result's own measurement is what simulated and SGX evidence attest directly; a TDX
    // quote attests MRTD/RTMRs instead, which only a policy can decide on.
    ...(opts.measurements || evidenceAttestsMeasurement(doc)
      ? { measurements: opts.measurements ?? [body.enclave.measurement] }
      : {}),
    ...(opts.policy ? { policy: opts.policy } : {}),
    allowSimulated: opts.allowSimulated ?? false,
  });
  const failed = att.checks.filter((c) => !c.ok);
  checks.push({
    name: 'attestation',
    ok: att.ok,
    detail: att.ok
      ? `${att.simulated ? 'SIMULATED TEE' : att.tee}: measurement ${att.measurement} binds the signing key, made for this result`
      : failed.map((c) => `${c.name}: ${c.detail}`).join('; '),
  });
  checks.push(
    ...(await federationMemberChecks(body, {
      allowSimulated: opts.allowSimulated ?? false,
      ...(opts.measurements ? { measurements: opts.measurements } : {}),
      ...(opts.policy ? { policy: opts.policy } : {}),
    })),
  );
  let chain: ChainClient | undefined;
  try {
    chain = await ChainClient.connect(opts.chainEndpoint);
    checks.push(chainIdentityCheck(await chain.identity(), doc, opts.pin));
    const anchor = await chain.verifyAnchor(doc.anchor, { kind: 'result', hash });
    const bad = anchor.checks.filter((c) => !c.ok);
    checks.push({
      name: 'chain anchor',
      ok: anchor.ok,
      detail: anchor.ok
        ? `in block #${doc.anchor.blockNumber} (${doc.anchor.blockHash.slice(0, 18)}…), extrinsic ${doc.anchor.extrinsicIndex}, on ${doc.anchor.chain.chainName}`
        : bad.map((c) => `${c.name}: ${c.detail}`).join('; '),
    });
    if (doc.spend || hasDpOutputs(body)) checks.push(await spendCheck(chain, doc));
  } catch (e) {
    checks.push({ name: 'chain anchor', ok: false, detail: e instanceof Error ? e.message : String(e) });
  } finally {
    await chain?.close();
  }
  return { ok: checks.every((c) => c.ok), simulated: body.enclave.simulated || att.simulated, checks };
}
