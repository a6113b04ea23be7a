/**
 * The enclave process: started by the host with an IPC channel, it makes or unseals its
 * identity, then answers schema-validated requests. Nothing it sends carries plaintext:
 * failures other than ObscuraError (whose messages are written to be data-free) are
 * reported as a generic internal error, since a library's message may quote a value.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { simulatedEvidence, simulatedPlatformSecret } from '../attestation/index.ts';
import { ed25519FromSeed } from '../common/ed25519.ts';
import { isObscuraError } from '../common/errors.ts';
import { cryptoReady, identityToRecipient } from '../crypto/index.ts';
import { openSealedInput } from './datasets.ts';
import { type JobContext, runJob } from './jobs.ts';
import { computeMeasurement } from './measurement.ts';
import { type EnclaveInfo, type EnclaveMessage, type HostRequest, HostRequestSchema } from './protocol.ts';
import { resultBodyHash } from './result.ts';
import { loadOrCreateState } from './state.ts';

const EnvSchema = z.object({
  OBSCURA_DATA_DIR: z.string().min(1),
  OBSCURA_WORKER_ID: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  OBSCURA_TEE: z.enum(['simulated']).default('simulated'),
});

function send(message: EnclaveMessage): void {
  process.send?.(message);
}

function log(level: 'info' | 'warn' | 'error', message: string): void {
  send({ type: 'log', level, message });
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('the enclave must be started by the host with an IPC channel');
  const env = EnvSchema.parse(process.env);
  await cryptoReady();
  const measurement = computeMeasurement();
  const platformSecret = simulatedPlatformSecret(env.OBSCURA_DATA_DIR);
  const stateDir = join(env.OBSCURA_DATA_DIR, 'workers', env.OBSCURA_WORKER_ID);
  const { state, restored } = loadOrCreateState({ stateDir, workerId: env.OBSCURA_WORKER_ID, platformSecret, measurement });
  platformSecret.fill(0);
  const signing = ed25519FromSeed(Buffer.from(state.signingSeed, 'hex'));
  const ctx: JobContext = {
    workerId: env.OBSCURA_WORKER_ID,
    tee: env.OBSCURA_TEE,
    measurement,
    ageIdentity: state.ageIdentity,
    recipient: identityToRecipient(state.ageIdentity),
    signingKey: signing.publicKey,
    signingSeed: signing.seed,
  };
  const keys = { recipient: ctx.recipient, signingKey: ctx.signingKey };
  if (!restored) {
    log('info', `no identity sealed to measurement ${measurement}: made a new one (datasets sealed to an earlier identity need a hand-over)`);
  }

  const handle = async (req: HostRequest): Promise<unknown> => {
    switch (req.type) {
      case 'hello':
        return { workerId: ctx.workerId, tee: ctx.tee, measurement, keys, restored } satisfies EnclaveInfo;
      case 'attest':
        return { evidence: simulatedEvidence({ dataDir: env.OBSCURA_DATA_DIR, workerId: ctx.workerId, measurement, keys, nonce: req.nonce }) };
      case 'validate_dataset': {
        const opened = await openSealedInput(req.input, ctx);
        return { rows: opened.data.rows, schema: opened.data.schema };
      }
      case 'run_job': {
        const signed = await runJob(req.job, ctx, (fraction, message) => send({ type: 'progress', id: req.id, fraction, message }));
        const attestation = simulatedEvidence({
          dataDir: env.OBSCURA_DATA_DIR,
          workerId: ctx.workerId,
          measurement,
          keys,
          nonce: resultBodyHash(signed.result),
        });
        return { signed, attestation };
      }
    }
  };

  process.on('message', (raw: unknown) => {
    const parsed = HostRequestSchema.safeParse(raw);
    if (!parsed.success) {
      const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'number' ? (raw as { id: number }).id : -1;
      send({ type: 'response', id, ok: false, error: { code: 'enclave_bad_request', message: 'request does not match the enclave protocol', status: 400 } });
      return;
    }
    const req = parsed.data;
    handle(req).then(
      (value) => send({ type: 'response', id: req.id, ok: true, value }),
      (e: unknown) => {
        if (isObscuraError(e)) {
          send({ type: 'response', id: req.id, ok: false, error: { code: e.code, message: e.message, status: e.status } });
        } else {
          log('error', `internal error while handling ${req.type}: ${e instanceof Error ? e.name : 'unknown'}`);
          send({ type: 'response', id: req.id, ok: false, error: { code: 'enclave_internal_error', message: `the enclave failed while handling ${req.type}`, status: 500 } });
        }
      },
    );
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

main().catch((e: unknown) => {
  // Startup failures carry no data yet (no dataset has been opened), so the message is safe.
  process.stderr.write(`enclave failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
