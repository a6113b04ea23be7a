/**
 * The enclave process: started by the host with an IPC channel, it makes or unseals its
 * identity, then answers schema-validated requests, one handler per message (handlers/).
 * Nothing it sends carries plaintext: failures other than ObscuraError (whose messages are
 * written to be data-free) are reported as a generic internal error, since a library's
 * message may quote a value.
 * Its evidence comes from the provider its environment names (OBSCURA_TEE and friends, see
 * attestation/providers/config.ts); a quote-based provider is asked for a quote at start,
 * so a worker without its TEE device fails to start, saying which device is missing. Its
 * sealed state is keyed from the provider's sealing root (the TEE's own sealing key or KMS;
 * only the simulated TEE keeps one in the data directory), held in this process's memory.
 * Its per-job limits come from its environment too, clamped to the ranges it accepts
 * (environment.ts); every job runs under a guard that enforces them, and that a
 * cancel_job request trips.
 */
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import {
  createProvider,
  describeSealingRoot,
  enclaveMeasurement,
  providerConfig,
  TeeSettingsSchema,
} from '../attestation/providers/index.ts';
import { isObscuraError, ObscuraError } from '../common/errors.ts';
import type { EnclaveMessage } from '../contracts/enclave-protocol.ts';
import { computeMeasurement } from '../contracts/measurement.ts';
import { cryptoReady } from '../crypto/keys.ts';
import { EnclaveContext } from './context.ts';
import { EnvSchema, jobLimits, namedOperators } from './environment.ts';
import { dispatch } from './handlers/index.ts';
import { loadOrCreateState } from './state.ts';

function send(message: EnclaveMessage): void {
  process.send?.(message);
}

function log(level: 'info' | 'warn' | 'error', message: string): void {
  send({ type: 'log', level, message });
}

/** Start the enclave: its TEE, its measurement, its sealed identity; the context its handlers share. */
async function start(): Promise<EnclaveContext> {
  const env = EnvSchema.parse(process.env);
  await cryptoReady();
  const endpoint = env.OBSCURA_DSTACK_ENDPOINT ?? env.DSTACK_SIMULATOR_ENDPOINT;
  const settings = TeeSettingsSchema.safeParse({
    tee: env.OBSCURA_TEE,
    ...(env.OBSCURA_TEE_ROOT ? { root: env.OBSCURA_TEE_ROOT } : {}),
    ...(endpoint ? { endpoint } : {}),
  });
  if (!settings.success) {
    const issue = settings.error.issues[0];
    throw new ObscuraError(
      'tee_config_invalid',
      `TEE setting ${String(issue?.path[0])} is invalid: ${issue?.message}`,
      400,
    );
  }
  const provider = createProvider(providerConfig(settings.data, env.OBSCURA_DATA_DIR));
  const hardware = await provider.identify();
  const { measurement, source: measurementSource } = enclaveMeasurement(hardware, computeMeasurement());
  if (provider.tee !== 'simulated') {
    log(
      'info',
      `TEE ${provider.tee} via ${provider.kind}; measurement ${measurement} (${measurementSource === 'hardware' ? 'MRENCLAVE' : 'code measurement'})`,
    );
  }
  const sealing = await provider.sealingRoot();
  log(
    sealing.source === 'simulated-file' ? 'warn' : 'info',
    `sealing root: ${sealing.source} (${describeSealingRoot(sealing.source)})`,
  );
  const stateDir = join(env.OBSCURA_DATA_DIR, 'workers', env.OBSCURA_WORKER_ID);
  const named = await namedOperators(env.OBSCURA_OPERATORS);
  const loaded = loadOrCreateState({
    stateDir,
    workerId: env.OBSCURA_WORKER_ID,
    platformSecret: sealing.secret,
    measurement,
    operators: named,
  });
  const limits = jobLimits(env);
  const heapBytes = getHeapStatistics().heap_size_limit;
  // The heap is sized when the process starts, by the host; the enclave can only say so.
  if (heapBytes > 2 * limits.memoryBytes + 256 * 1024 ** 2)
    log('warn', `the enclave's heap is not capped near its memory limit per job (${heapBytes} bytes)`);
  const cx = new EnclaveContext(
    {
      workerId: env.OBSCURA_WORKER_ID,
      provider,
      hardware,
      measurement,
      measurementSource,
      sealing,
      stateDir,
      state: loaded.state,
      restored: loaded.restored,
      limits,
      heapBytes,
      chainEndpoint: env.OBSCURA_CHAIN_ENDPOINT,
    },
    send,
  );
  if (!loaded.restored) {
    log(
      'info',
      `no identity sealed to measurement ${measurement}: made a new one; datasets sealed to an earlier identity stay unreadable (no access) until an authorised hand-over`,
    );
  }
  if (cx.state.operators === undefined) {
    // State sealed before operators were kept: the host's list is all there is to go by, once.
    cx.persist({ ...cx.state, operators: named });
    log(
      'warn',
      `this identity kept no operators yet: it now honours the ${named.length} the host names, and no others from now on`,
    );
  } else {
    const sealedOps = cx.state.operators;
    const added = named.filter((a) => !sealedOps.includes(a));
    if (added.length > 0) {
      log(
        'warn',
        `the host names ${added.length} operator(s) this identity was not given at first start (${added.join(', ')}); ignored: upgrades need the signature of one of its ${sealedOps.length} sealed operator(s)`,
      );
    }
  }
  return cx;
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('the enclave must be started by the host with an IPC channel');
  const cx = await start();
  process.on('message', (raw: unknown) => void dispatch(raw, cx));
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

main().catch((e: unknown) => {
  // Startup failures carry no data yet (no dataset has been opened), so the message is safe.
  process.stderr.write(
    `enclave failed to start: ${isObscuraError(e) ? `${e.code}: ` : ''}${e instanceof Error ? e.message : String(e)}\n`,
  );
  process.exit(1);
});
