/**
 * Federated aggregates inside the enclaves. Each member enclave checks its share of the job
 * (its own datasets, against their owners' policies, as for a local job), commits what it
 * spends on its own ledger, reads its rows only once that spend is on chain, computes the
 * mergeable partials of its rows (src/pipelines/partials) and seals them to the coordinating
 * enclave, whose attestation it verified, signed with its own key. The partial is bound to
 * the job, the request, the pipeline, the member and its datasets, so the host can neither
 * read it, alter it, replay it into another job nor swap it between members.
 *
 * The coordinating enclave verifies every member's attestation (same code as its own), opens
 * each partial with that member's key, checks the binding, that the members' datasets are
 * exactly those the analyst's request binds (none twice) and that datasets bound to one
 * input share a schema; it merges, and only then applies min_group_size and DP, once, to the
 * merged groups (finalizePartial): a partial is never released alone.
 */
import { ObscuraError } from '../common/errors.ts';
import { canonicalJson } from '../common/hash.ts';
import type { JobSpec, RequestOf } from '../contracts/enclave-protocol.ts';
import { type ResultBody, signResult } from '../contracts/result.ts';
import { outputsArePublic, releaseOutputs, resultReaders } from '../contracts/result-outputs.ts';
import type { ParsedDataset } from '../data/index.ts';
import { openFrom, type Peer, sealFor, type SealedMessage } from '../federation/channel.ts';
import { parsePipeline, type PipelineOutputs, pipelineHash } from '../pipelines/index.ts';
import { JobGuard, jobDuckdbMemory } from '../pipelines/limits.ts';
import {
  computePartials,
  decodePartial,
  finalizePartial,
  mergePartials,
  type PartialAggregate,
} from '../pipelines/partials/index.ts';
import type { PipelineDocument } from '../pipelines/schema.ts';
import { applyLimits } from '../privacy/enforce.ts';
import {
  assertJobMatchesRequest,
  assertJobRequestSignature,
  jobRequestHash,
} from '../privacy/job-request.ts';
import type { SignedLedgerEntry } from '../contracts/ledger.ts';
import { afterData } from './data-condition.ts';
import { assertMemberStatement, memberPart, signMemberStatement, verifyPeers } from './federated-members.ts';
import { type CheckedJob, chargesOf, checkJob, consume, type JobContext } from './job-check.ts';
import { assertInputsFit } from './job-memory.ts';
import { openInputs, type Released, resultEnclave, resultInput } from './jobs.ts';

/** The version tag of a sealed partial: what a coordinating enclave accepts. */
export const SEALED_PARTIAL_VERSION = 'obscura-federated-partial/1';

/** What a member seals to the coordinating enclave: its partials and what binds them. */
interface SealedPartialBody {
  obscura: typeof SEALED_PARTIAL_VERSION;
  job: string;
  request: string;
  pipeline: string;
  member: { worker: string; signingKey: string };
  coordinator: string;
  inputs: ResultBody['inputs'];
  /** Per dataset: the owner-signed schema, canonical JSON (datasets of one input must agree). */
  schemas: Record<string, string>;
  release: { owners: { account: string; recipient?: string }[]; open: boolean };
  partials: Record<string, PartialAggregate>;
  /** The member's signature of its statement (federated-members.ts): copied into the result for auditors. */
  statement: string;
}

interface Pending {
  job: JobSpec;
  checked: CheckedJob;
  coordinator: Peer;
  seq?: number;
}

/** A member's pending shares and the coordinator's merge, on one enclave. */
export class FederatedAggregates {
  readonly #pending = new Map<string, Pending>();

  constructor(private readonly ctx: JobContext) {}

  /** Member: check the share and the coordinator, spend nothing. */
  async check(job: JobSpec, coordinator: Peer): Promise<CheckedJob> {
    await verifyPeers(this.ctx, [coordinator]);
    const checked = checkJob(job, this.ctx, { partial: true });
    const join = checked.doc.steps.find((s) => s.join);
    if (join)
      throw new ObscuraError(
        'federation_join_across_nodes',
        `step ${join.id} joins: a federated aggregate merges partials of each node's rows, and rows on different nodes never meet (private set intersection across nodes is not available)`,
        422,
        { step: join.id },
      );
    // Each node holds its share's inputs whole: refused here, before anything is spent or read.
    assertInputsFit(
      job,
      applyLimits(checked.doc, checked.limits),
      this.ctx.limits.memoryBytes,
      "a federated aggregate reads each node's inputs whole",
    );
    return checked;
  }

  /** Member: check again, commit what the share spends; the partial now, or after the spend is on chain. */
  async take(
    session: string,
    job: JobSpec,
    coordinator: Peer,
  ): Promise<{ partial: SealedMessage } | { ledger: SignedLedgerEntry }> {
    if (this.#pending.has(session))
      throw new ObscuraError('federation_invalid', `federated session ${session} is already open here`, 409);
    const checked = await this.check(job, coordinator);
    const charges = chargesOf(checked.doc, checked.plan, job, checked.manifests);
    const ledger = await consume(job.id, checked, charges, this.ctx, () => {});
    if (!ledger) return { partial: await this.#compute({ job, checked, coordinator }) };
    this.#pending.set(session, { job, checked, coordinator, seq: ledger.entry.seq });
    return { ledger };
  }

  /** Member: the partial of a share whose spend the host has shown on chain. */
  async run(session: string): Promise<{ partial: SealedMessage }> {
    const p = this.#pending.get(session);
    if (!p)
      throw new ObscuraError('federation_invalid', `no federated session ${session} on this worker`, 404);
    if (p.seq !== undefined && !this.ctx.ledger.isConfirmed(p.seq))
      throw new ObscuraError(
        'ledger_unconfirmed',
        `ledger entry #${p.seq} (what this share spends) is not yet placed on chain`,
        409,
      );
    this.#pending.delete(session);
    return { partial: await this.#compute(p) };
  }

  /** Drop the pending shares of `job` (its analyst cancelled it); their spends stand. Returns whether any was here. */
  cancel(job: string): boolean {
    let found = false;
    for (const [session, p] of this.#pending)
      if (p.job.id === job) {
        this.#pending.delete(session);
        found = true;
      }
    return found;
  }

  /** Drop a pending share (the host closed its session). */
  close(session: string): boolean {
    return this.#pending.delete(session);
  }

  async #compute(p: Pending): Promise<SealedMessage> {
    const { job, checked, coordinator } = p;
    const limited: PipelineDocument = applyLimits(checked.doc, checked.limits);
    const guard = new JobGuard(this.ctx.limits);
    try {
      const opened = await openInputs(job, this.ctx, limited, () => {}, guard);
      return await afterData(async () => {
        const byName: Record<string, ParsedDataset> = {};
        job.inputs.forEach((input, i) => {
          byName[input.name] = (opened[i] as (typeof opened)[number]).data;
        });
        const partials = await computePartials(limited, byName, {
          guard,
          memoryLimit: jobDuckdbMemory(this.ctx.limits.memoryBytes),
        });
        const body: Omit<SealedPartialBody, 'statement'> = {
          obscura: SEALED_PARTIAL_VERSION,
          job: job.id,
          request: jobRequestHash(checked.request),
          pipeline: checked.hash,
          member: { worker: this.ctx.workerId, signingKey: this.ctx.signingKey },
          coordinator: coordinator.keys.signingKey,
          inputs: job.inputs.map((input, i) => resultInput(input, opened[i] as (typeof opened)[number])),
          schemas: Object.fromEntries(
            job.inputs.map((i) => [i.datasetId, canonicalJson(i.manifest.manifest.schema)]),
          ),
          release: {
            owners: job.inputs.map((i) => ({
              account: i.manifest.manifest.owner,
              ...(i.manifest.manifest.resultRecipient
                ? { recipient: i.manifest.manifest.resultRecipient }
                : {}),
            })),
            open: outputsArePublic(
              checked.doc.visibility,
              job.inputs.map((i) => checked.manifests.get(i.name)?.policy),
            ),
          },
          partials,
        };
        const statement = signMemberStatement(this.ctx, {
          job: body.job,
          request: body.request,
          pipeline: body.pipeline,
          coordinator: body.coordinator,
          inputs: body.inputs,
        });
        return sealFor(coordinator.keys.recipient, this.ctx.signingSeed, { ...body, statement });
      });
    } finally {
      guard.dispose();
    }
  }

  /** Coordinator: verify every member and its partial, merge, apply min_group_size and DP once, sign. */
  async merge(req: Pick<RequestOf<'fed_merge'>, 'job' | 'peers' | 'partials'>): Promise<Released> {
    const { job, peers, partials } = req;
    if (peers.length !== partials.length)
      throw new ObscuraError(
        'federation_invalid',
        'each member of a federated aggregate needs its partial',
        400,
      );
    await verifyPeers(this.ctx, peers);
    assertJobRequestSignature(job.request);
    const doc = parsePipeline(job.pipeline);
    const hash = pipelineHash(doc);
    const request = jobRequestHash(job.request.request);
    const parts: SealedPartialBody[] = [];
    for (const [i, m] of partials.entries()) {
      const peer = peers[i] as Peer;
      const body = (await openFrom(m, this.ctx.ageIdentity, peer.keys.signingKey)) as SealedPartialBody;
      const bound =
        body?.obscura === SEALED_PARTIAL_VERSION &&
        body.job === job.id &&
        body.request === request &&
        body.pipeline === hash &&
        body.coordinator === this.ctx.signingKey &&
        body.member?.signingKey === peer.keys.signingKey;
      const binding = { job: job.id, request, pipeline: hash, coordinator: this.ctx.signingKey };
      // A body not bound to this job fails here too: its statement is checked against what this enclave knows.
      assertMemberStatement(
        peer,
        { ...binding, inputs: bound ? body.inputs : [] },
        bound ? body.statement : undefined,
        'partial',
      );
      parts.push(body);
    }
    // Every dataset the analyst bound, once: a partial given twice, or a member left out, is refused.
    assertJobMatchesRequest(job.request.request, {
      pipelineHash: hash,
      outputs: Object.keys(doc.outputs),
      inputs: parts
        .flatMap((p) => p.inputs)
        .map((i) => ({ name: i.name, dataset: i.dataset, manifest: i.manifestHash })),
    });
    assertSchemasAgree(parts);
    return afterData(async () => {
      const outputs: PipelineOutputs = {};
      for (const step of Object.keys(doc.outputs)) {
        const merged = mergePartials(parts.map((p) => decodePartial(p.partials[step])));
        outputs[step] = finalizePartial(merged);
      }
      const released = await releaseOutputs(outputs, {
        open: parts.every((p) => p.release.open),
        readers: resultReaders(
          { account: job.request.request.analyst, recipient: job.request.request.recipient },
          parts.flatMap((p) => p.release.owners),
        ),
      });
      const result: ResultBody = {
        obscura: 'result/2',
        job: job.id,
        analyst: job.request.request.analyst,
        request: job.request,
        pipeline: { name: doc.name, hash },
        inputs: parts.flatMap((p) => p.inputs),
        outputs: released.outputs,
        enclave: resultEnclave(this.ctx),
        // An aggregate has no rounds: the members each sent one partial.
        federation: {
          workers: peers.map((p) => ({ worker: p.workerId, signingKey: p.keys.signingKey })),
          rounds: 0,
          // Each member's attestation and signed partial, as verified above: an auditor checks every enclave's part.
          members: peers.map((p, i) => {
            const part = parts[i] as SealedPartialBody;
            return memberPart(this.ctx, p, part.inputs, part.statement, partials[i] as SealedMessage);
          }),
        },
        createdAt: new Date().toISOString(),
      };
      return {
        signed: signResult(result, this.ctx.signingSeed),
        ...(released.ciphertext ? { ciphertext: released.ciphertext } : {}),
        outputs,
      };
    });
  }
}

/** Throw 'federation_schema_mismatch' naming the datasets when datasets bound to one input differ in schema. */
function assertSchemasAgree(parts: SealedPartialBody[]): void {
  const byInput = new Map<string, { dataset: string; schema: string }>();
  for (const p of parts)
    for (const i of p.inputs) {
      const schema = p.schemas[i.dataset] ?? '';
      const first = byInput.get(i.name);
      if (!first) byInput.set(i.name, { dataset: i.dataset, schema });
      else if (first.schema !== schema)
        throw new ObscuraError(
          'federation_schema_mismatch',
          `input ${i.name}: datasets ${first.dataset} and ${i.dataset} have different schemas, so their rows cannot be one union`,
          422,
          { input: i.name },
        );
    }
}
