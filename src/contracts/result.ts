/**
 * Signed results: what leaves the enclave. The enclave signs the JCS form of the result body
 * with its Ed25519 key; the attestation that travels with a result binds that key to the
 * measurement, and its nonce is the result body's hash, so the evidence was made for this
 * very result. The outputs themselves are sealed (age) to the result's readers unless the
 * owners made them public (result-outputs.ts); the body then commits to the ciphertext and
 * the plaintext by hash.
 */
import { z } from 'zod';
import { ed25519Sign, ed25519Verify } from '../common/ed25519.ts';
import { canonicalJson, sha256Hex } from '../common/hash.ts';
import { EvidenceSchema } from '../attestation/evidence.ts';
import { ResultRecipientSchema } from '../crypto/result-key.ts';
import { SignedJobRequestSchema } from '../privacy/job-request.ts';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** A cell of an output table: aggregates only, so scalars. */
export const CellSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** One output table of a pipeline. */
export const OutputTableSchema = z.object({
  columns: z.array(z.object({ name: z.string(), type: z.string() })),
  rows: z.array(z.array(CellSchema)),
  /** Groups dropped because fewer than minGroupSize input rows were behind them. */
  suppressedGroups: z.number().int().nonnegative(),
  /** Histogram cells shown as null because fewer than minGroupSize input rows were behind them. */
  suppressedCells: z.number().int().nonnegative().optional(),
  minGroupSize: z.number().int().positive(),
  /** Differential privacy applied to this output: mechanism, epsilon, delta, and the noisy count a group needed. */
  dp: z
    .object({
      mechanism: z.enum(['laplace', 'gaussian']),
      epsilon: z.number(),
      delta: z.number(),
      threshold: z.number(),
    })
    .optional(),
  /** A train output's model: how it was trained and encodes its inputs, and its weights where released. */
  model: z
    .object({
      kind: z.string(),
      task: z.enum(['classification', 'regression']),
      backend: z.string(),
      features: z.array(z.string()),
      label: z.string(),
      encoding: z.array(z.record(z.string(), z.unknown())),
      epochs: z.number().int(),
      rows: z.object({ train: z.number().int(), validation: z.number().int() }),
      lossCurve: z.array(z.number()),
      valLossCurve: z.array(z.number()),
      weights: z
        .object({
          format: z.literal('tfjs-layers'),
          modelTopology: z.unknown(),
          weightSpecs: z.array(z.unknown()),
          weightData: z.string(),
          sha256,
        })
        .optional(),
      /** DP-SGD: the (epsilon, delta) spent, the noise multiplier the accountant chose, the clipping norm, sampling rate and steps. */
      dpSgd: z
        .object({
          epsilon: z.number(),
          delta: z.number(),
          noiseMultiplier: z.number(),
          clipNorm: z.number(),
          sampleRate: z.number(),
          steps: z.number().int(),
        })
        .optional(),
    })
    .optional(),
});
export type OutputTable = z.infer<typeof OutputTableSchema>;

/** What a result commits to about one input. */
export const ResultInputSchema = z.object({
  name: z.string(),
  dataset: z.string(),
  owner: z.string(),
  manifestHash: sha256,
  plaintextSha256: sha256,
  ciphertextSha256: sha256,
  rows: z.number().int().nonnegative(),
});

/** Someone a sealed result's outputs are encrypted to: the job's analyst, or an owner of one of its inputs. */
export const ResultReaderSchema = z.object({
  role: z.enum(['analyst', 'owner']),
  /** The account: the analyst who signed the request, or the owner who signed an input's manifest. */
  account: z.string(),
  /** The age recipient the account signed (in the job request, or in the manifest). */
  recipient: ResultRecipientSchema,
});
export type ResultReader = z.infer<typeof ResultReaderSchema>;

/**
 * Outputs sealed to their readers: the host sees only the output names (which the signed
 * request already names), never a value, a row count or a suppressed-group count. The
 * ciphertext is an age file (carried beside the signed result); the plaintext it holds is
 * the JCS form of `{ obscura: 'result-outputs/1', salt, outputs }`, salted so that its hash
 * cannot be confirmed by guessing a small aggregate.
 */
export const SealedOutputsSchema = z.object({
  visibility: z.literal('sealed'),
  names: z.array(z.string()).min(1),
  /**
   * The outputs released under differential privacy (a DP aggregate, a DP-SGD model): set by
   * the pipeline and the policies, never by the data, and public so that a verifier who
   * cannot decrypt still demands the anchored budget spend behind them.
   */
  dp: z.array(z.string()),
  ciphertextSha256: sha256,
  plaintextSha256: sha256,
  readers: z.array(ResultReaderSchema).min(1),
});
export type SealedOutputs = z.infer<typeof SealedOutputsSchema>;

/** Outputs in the clear: only when the pipeline asks for `visibility: public` and every input's policy says `results: public`. */
export const PublicOutputsSchema = z.object({
  visibility: z.literal('public'),
  tables: z.record(z.string(), OutputTableSchema),
});

/**
 * One member enclave of a federated job, as the coordinating enclave verified it: its
 * attestation (fresh evidence for the host's nonce, binding its signing key to the
 * measurement), the datasets of its share, its signed statement of that share, and the hash
 * of the sealed contribution it signed (an aggregate's partial; training's encoding
 * statistics, which open its partition) as the coordinator took it. The contribution stays
 * sealed to the coordinator; what an auditor checks offline is that an enclave attested for
 * this code signed it.
 */
export const FederationMemberSchema = z.object({
  worker: z.string(),
  signingKey: z.string().regex(/^[0-9a-f]{64}$/),
  measurement: sha256,
  evidence: EvidenceSchema,
  nonce: sha256,
  datasets: z.array(z.string()).min(1),
  /** The member's signature of its statement (partial-statement.ts) over the result's inputs from these datasets. */
  statement: z.string().regex(/^[0-9a-f]{128}$/),
  /** SHA-256 of the sealed contribution's ciphertext (base64 text, as signed) and the member's signature of it. */
  partial: z.object({ sha256, signature: z.string().regex(/^[0-9a-f]{128}$/) }),
});
export type FederationMember = z.infer<typeof FederationMemberSchema>;

/** The body of a result, as the enclave signs it. */
export const ResultBodySchema = z.object({
  obscura: z.literal('result/2'),
  job: z.string(),
  /** The analyst who signed `request` (the enclave takes it from there only). */
  analyst: z.string(),
  /** The analyst's signed job request the enclave verified and ran. */
  request: SignedJobRequestSchema,
  pipeline: z.object({ name: z.string(), hash: sha256 }),
  inputs: z.array(ResultInputSchema),
  outputs: z.discriminatedUnion('visibility', [SealedOutputsSchema, PublicOutputsSchema]),
  enclave: z.object({
    worker: z.string(),
    tee: z.string(),
    simulated: z.boolean(),
    measurement: sha256,
    signingKey: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  /** Federated training: the workers whose rows trained the model (each kept its rows), and the rounds. */
  federation: z
    .object({
      workers: z.array(z.object({ worker: z.string(), signingKey: z.string() })),
      rounds: z.number().int(),
      /** Each member enclave's part (a federated aggregate's, or training's), for an auditor to check offline. */
      members: z.array(FederationMemberSchema).optional(),
    })
    .optional(),
  createdAt: z.iso.datetime(),
});
export type ResultBody = z.infer<typeof ResultBodySchema>;

/** A result body with the enclave's signature. */
export const SignedResultSchema = z.object({
  result: ResultBodySchema,
  signature: z.string().regex(/^[0-9a-f]{128}$/),
});
export type SignedResult = z.infer<typeof SignedResultSchema>;

function signingText(body: ResultBody): string {
  return `obscura-result/2\n${canonicalJson(body)}`;
}

/** Whether an output table was released under differential privacy (a DP aggregate, a DP-SGD model). */
export function isDpOutput(table: OutputTable): boolean {
  return table.dp !== undefined || table.model?.dpSgd !== undefined;
}

/** The names of a result's outputs released under differential privacy, sealed or not. */
export function dpOutputNames(body: ResultBody): string[] {
  if (body.outputs.visibility === 'sealed') return body.outputs.dp;
  return Object.entries(body.outputs.tables)
    .filter(([, t]) => isDpOutput(t))
    .map(([name]) => name);
}

/** The names of a result's outputs, sealed or not. */
export function outputNames(body: ResultBody): string[] {
  return body.outputs.visibility === 'sealed' ? body.outputs.names : Object.keys(body.outputs.tables);
}

/** SHA-256 of the result body's JCS form: the attestation nonce for this result. */
export function resultBodyHash(body: ResultBody): string {
  return sha256Hex(canonicalJson(body));
}

/** SHA-256 of the signed result's JCS form: what is anchored on the chain, and the result id's source. */
export function signedResultHash(signed: SignedResult): string {
  return sha256Hex(canonicalJson(signed));
}

/** The public id of a result: the first 32 hex characters of its signed hash. */
export function resultId(signed: SignedResult): string {
  return signedResultHash(signed).slice(0, 32);
}

/** Sign a result body with the enclave's key seed. */
export function signResult(body: ResultBody, seed: Uint8Array): SignedResult {
  return { result: body, signature: ed25519Sign(seed, signingText(body)) };
}

/** Whether the signature over the body verifies with the key the body names. */
export function verifyResultSignature(signed: SignedResult): boolean {
  return ed25519Verify(signed.result.enclave.signingKey, signingText(signed.result), signed.signature);
}
