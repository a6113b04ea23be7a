/**
 * Node-to-node routes. `GET /v1/federation/node` is public: the record this node last
 * published, so a peer can check that the URL in a record is this node's (peer-check.ts).
 * `POST /v1/federation/hello` answers only a registered peer node (the access rule `node`):
 * it tells the peer how this node sees it and gives this node's workers' evidence for the
 * peer's own nonce, so a coordinator checks a node's code and its willingness in one call
 * before it hands it any part of a job. `POST /v1/federation/relay` (same rule) carries a
 * coordinating node's federated-training requests to this node's enclave: for `fed_open`
 * this host supplies its own dataset (blob, manifest, the owner's approval and policy
 * update) and places the ledger entry of approval runs its enclave spends, as for a job of
 * its own; the enclave checks everything else (the analyst's signature, the dataset's
 * policy, the coordinating enclave's attestation).
 */
import { Router } from 'express';
import { z } from 'zod';
import { parseBody } from '../../../contracts/api-schemas.ts';
import { ObscuraError } from '../../../common/errors.ts';
import { RequestSchemas } from '../../../contracts/enclave-protocol.ts';
import { PeerSchema } from '../../../federation/channel.ts';
import {
  assertJobRequestSignature,
  purposeHash,
  requestBindings,
  type SignedJobRequest,
  SignedJobRequestSchema,
} from '../../../privacy/job-request.ts';
import { canonicalJson, sha256Hex } from '../../../common/hash.ts';
import { manifestHash } from '../../../crypto/manifest.ts';
import { datasetAccess } from '../access.ts';
import { RELAYED_REQUESTS } from '../../federation/remote-member.ts';
import { placeLedgerEntry } from '../ledger.ts';
import type { HostContext } from '../context.ts';

/** The body of POST /v1/federation/datasets: the analyst's signed request whose datasets a coordinator looks for. */
export const DatasetsQuerySchema = z.strictObject({ request: SignedJobRequestSchema });

/** The body of POST /v1/federation/hello. */
export const HelloRequestSchema = z.strictObject({ nonce: z.string().regex(/^[0-9a-f]{64}$/) });

const RelaySchema = z.strictObject({
  worker: z.string().min(1).max(64),
  type: z.enum(RELAYED_REQUESTS),
  body: z.record(z.string(), z.unknown()),
});

const OpenInputSchema = z.strictObject({ name: z.string().min(1), datasetId: z.string().min(1) });

/** The fed_open body as a coordinating node sends it: inputs by id only. */
const RelayedOpenSchema = z.strictObject({
  session: z.string().min(1),
  job: z.strictObject({
    id: z.string().min(1),
    request: SignedJobRequestSchema,
    pipeline: z.string().min(1),
    inputs: z.array(OpenInputSchema).length(1),
  }),
  step: z.string().min(1),
  aggregator: PeerSchema,
});

/** The fed_partial_check and fed_partial bodies as a coordinating node sends them: inputs by id only. */
const RelayedShareSchema = z.strictObject({
  session: z.string().min(1).optional(),
  job: RelayedOpenSchema.shape.job,
  coordinator: PeerSchema,
});

/** This node's input for a relayed fed_open: its own dataset, sealed to `worker`. Throws 404 'dataset_not_found'. */
function ownInput(
  ctx: HostContext,
  worker: string,
  input: z.infer<typeof OpenInputSchema>,
  request: SignedJobRequest,
) {
  const { metadata, privacy, blobs } = ctx;
  if (!metadata.hasDataset(input.datasetId) || metadata.dataset(input.datasetId).worker !== worker)
    throw new ObscuraError(
      'dataset_not_found',
      `no dataset ${input.datasetId} on worker ${worker} of this node`,
      404,
    );
  const d = metadata.dataset(input.datasetId);
  const pipelineHash = request.request.pipeline;
  const approval = privacy.approvalFor(
    input.datasetId,
    pipelineHash,
    request.request.analyst,
    purposeHash(request.request.purpose),
  );
  const policyUpdate = privacy.latestPolicyUpdate(input.datasetId);
  return {
    name: input.name,
    datasetId: input.datasetId,
    blobPath: blobs.pathOf(d.ciphertext.sha256),
    manifest: d.manifest,
    ...(approval ? { approval } : {}),
    ...(policyUpdate ? { policyUpdate } : {}),
  };
}

/** Routes between nodes. */
export function federationRoutes(ctx: HostContext): Router {
  const r = Router();
  r.get('/federation/node', (_req, res) => {
    const current = ctx.nodes?.current;
    if (!current)
      throw new ObscuraError('node_not_registered', 'this node has published no node record', 404);
    res.json(current);
  });
  r.post('/federation/hello', async (req, res) => {
    const { nonce } = parseBody(HelloRequestSchema, req.body);
    const workers = await Promise.all(
      ctx.workers
        .list()
        .filter((w) => w.status === 'running')
        .map(async (w) => ({
          id: w.id,
          evidence: (await ctx.workers.get(w.id).request('attest', { nonce })).evidence,
        })),
    );
    res.json({ node: ctx.nodes?.operator, peer: req.account, nonce, workers });
  });
  r.post('/federation/datasets', async (req, res) => {
    const { request } = parseBody(DatasetsQuerySchema, req.body);
    assertJobRequestSignature(request);
    const analyst = request.request.analyst;
    const datasets = requestBindings(request.request)
      .map((b) => b.binding.dataset)
      .filter((id) => ctx.metadata.hasDataset(id))
      .map((id) => ctx.metadata.dataset(id))
      // Only what the request's analyst could read here: a coordinator learns nothing more.
      .filter((d) => datasetAccess(ctx, analyst, d) === 'read')
      .map((d) => ({
        id: d.id,
        worker: d.worker,
        manifestHash: manifestHash(d.manifest.manifest),
        schemaHash: sha256Hex(canonicalJson(d.manifest.manifest.schema)),
      }));
    res.json({ datasets });
  });
  r.post('/federation/relay', async (req, res) => {
    const relay = parseBody(RelaySchema, req.body);
    const enclave = ctx.workers.get(relay.worker);
    if (relay.type === 'fed_open') {
      const open = parseBody(RelayedOpenSchema, relay.body);
      const input = ownInput(
        ctx,
        relay.worker,
        open.job.inputs[0] as z.infer<typeof OpenInputSchema>,
        open.job.request,
      );
      const opened = await enclave.request('fed_open', { ...open, job: { ...open.job, inputs: [input] } });
      // Approval runs spent on this node go on chain from here before any round trains.
      if (opened.ledger) await placeLedgerEntry(ctx, relay.worker, opened.ledger);
      const { ledger: _placed, ...answer } = opened;
      res.json(answer);
      return;
    }
    if (relay.type === 'fed_partial_check' || relay.type === 'fed_partial') {
      const share = parseBody(RelayedShareSchema, relay.body);
      const input = ownInput(
        ctx,
        relay.worker,
        share.job.inputs[0] as z.infer<typeof OpenInputSchema>,
        share.job.request,
      );
      const job = { ...share.job, inputs: [input] };
      if (relay.type === 'fed_partial_check') {
        res.json(await enclave.request('fed_partial_check', { job, coordinator: share.coordinator }));
        return;
      }
      if (!share.session) throw new ObscuraError('federation_invalid', 'fed_partial needs a session', 400);
      const taken = await enclave.request('fed_partial', {
        session: share.session,
        job,
        coordinator: share.coordinator,
      });
      if ('partial' in taken) {
        res.json(taken);
        return;
      }
      // This node's spend goes on chain from here, and only then does its enclave read its rows.
      await placeLedgerEntry(ctx, relay.worker, taken.ledger);
      res.json(await enclave.request('fed_partial_run', { session: share.session }));
      return;
    }
    // Checked as the enclave will check it (with a placeholder id), then sent without id and type.
    const schema = RequestSchemas[relay.type] as unknown as z.ZodType<Record<string, unknown>>;
    const { id: _id, type: _type, ...body } = parseBody(schema, { ...relay.body, id: 0, type: relay.type });
    res.json(await enclave.request(relay.type, body as never));
  });
  return r;
}
