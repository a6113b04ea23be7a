/**
 * What the enclave does when it starts, apart from the process it runs in: make or unseal
 * its identity from the TEE the environment names and build the context its handlers share.
 * main.ts runs it in the enclave process with that process's environment and IPC channel.
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
import { ObscuraError } from '../common/errors.ts';
import type { EnclaveMessage } from '../contracts/enclave-protocol.ts';
import { computeMeasurement } from '../contracts/measurement.ts';
import { cryptoReady } from '../crypto/keys.ts';
import { EnclaveContext } from './context.ts';
import { EnvSchema, jobLimits, namedOperators } from './environment.ts';
import { configureWarmCache } from './warm-cache.ts';
import { loadOrCreateState } from './state.ts';

/**
 * Start the enclave: its TEE, its measurement, its sealed identity; the context its handlers
 * share. `environment` is what the host gave the process (validated here: the host is
 * untrusted) and `send` the channel back to it. main.ts calls this with its own process's.
 */
export async function startEnclave(
  environment: Readonly<Record<string, string | undefined>>,
  send: (message: EnclaveMessage) => void,
): Promise<EnclaveContext> {
  const log = (level: 'info' | 'warn' | 'error', message: string): void =>
    send({ type: 'log', level, message });
  const env = EnvSchema.parse(environment);
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
  configureWarmCache(env.OBSCURA_WARM_CACHE_BYTES);
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
