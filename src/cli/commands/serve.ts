/** `obscura serve` (what `npm start` runs): the chain, one enclave worker and the API. */
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { TeeChoiceSchema, type TeeChoice } from '../../attestation/providers/config.ts';
import { DEFAULTS, env } from '../../common/env.ts';
import { ObscuraError } from '../../common/errors.ts';

/** Register `serve`. */
export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the API, the embedded chain and an enclave worker')
    .option('--data-dir <dir>', 'data directory', env().OBSCURA_DATA_DIR ?? DEFAULTS.dataDir)
    .option('--port <port>', 'API port', String(DEFAULTS.port))
    .option('--chain-port <port>', 'embedded chain RPC port', String(DEFAULTS.chainPort))
    .option('--chain <url>', 'use this Substrate node instead of the embedded chain (or OBSCURA_CHAIN)')
    .addOption(
      new Option('--tee <kind>', 'where workers get attestation evidence (or OBSCURA_TEE)')
        .choices(TeeChoiceSchema.options)
        .default(env().OBSCURA_TEE ?? 'simulated'),
    )
    .option('--tee-root <dir>', 'TEE device root: configfs-tsm report dir for tdx, /dev/attestation for sgx-gramine (or OBSCURA_TEE_ROOT)')
    .option('--dstack-endpoint <socket|url>', 'dstack guest agent socket or simulator URL; for tdx, the agent whose KMS gives the sealing root (or OBSCURA_DSTACK_ENDPOINT)')
    .option('--predecessor <dir>', "the previous release's checkout: workers hand their identity over from its enclave (an authorised upgrade)")
    .option('--workers <n>', 'how many enclave workers to run (worker-1 … worker-n); federated training needs two or more', '1')
    .option('--quiet', 'print only the startup summary')
    .action(async (opts: { dataDir: string; port: string; chainPort: string; chain?: string; tee: TeeChoice; teeRoot?: string; dstackEndpoint?: string; predecessor?: string; workers: string; quiet?: boolean }) => {
      const count = Number(opts.workers);
      if (!Number.isInteger(count) || count < 1 || count > 16) throw new ObscuraError('workers_invalid', `--workers must be a whole number from 1 to 16, not ${opts.workers}`, 400);
      const chainEndpoint = opts.chain ?? env().OBSCURA_CHAIN;
      const teeRoot = opts.teeRoot ?? env().OBSCURA_TEE_ROOT;
      const dstackEndpoint = opts.dstackEndpoint ?? env().OBSCURA_DSTACK_ENDPOINT;
      const tee = { tee: opts.tee, ...(teeRoot ? { root: teeRoot } : {}), ...(dstackEndpoint ? { endpoint: dstackEndpoint } : {}) };
      const operatorSuri = env().OBSCURA_OPERATOR_SURI;
      const operators = (env().OBSCURA_OPERATORS ?? '').split(',').map((a) => a.trim()).filter(Boolean);
      const inFlight = env().OBSCURA_UPLOADS_IN_FLIGHT;
      const quota = env().OBSCURA_STORAGE_QUOTA_BYTES;
      const uploadLimits = { ...(inFlight ? { inFlightPerAccount: inFlight } : {}), ...(quota ? { bytesPerAccount: quota } : {}) };
      const t0 = Date.now();
      const { startHost } = await import('../../api/host.ts');
      const host = await startHost({
        dataDir: opts.dataDir,
        port: Number(opts.port),
        chainPort: Number(opts.chainPort),
        tee,
        workerIds: Array.from({ length: count }, (_, i) => `worker-${i + 1}`),
        ...(chainEndpoint ? { chainEndpoint } : {}),
        ...(operatorSuri ? { operatorSuri } : {}),
        ...(opts.predecessor ? { predecessorRoot: resolve(opts.predecessor) } : {}),
        ...(operators.length ? { operators } : {}),
        uploadLimits,
        log: (level, message) => {
          if (!opts.quiet || level !== 'info') process.stderr.write(`${new Date().toISOString()} ${level} ${message}\n`);
        },
      });
      const lines = [
        `Obscura is running (started in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
        `  API        ${host.url}  (dashboard ${host.url}/, OpenAPI ${host.url}/v1/openapi.json)`,
        `  chain      ${host.chainEndpoint}${host.embeddedChain ? '  (embedded)' : ''}`,
        ...host.workers
          .list()
          .map(
            (w) =>
              `  worker     ${w.id}  tee=${w.tee}${w.simulated ? ' (simulated)' : ` via ${w.provider}`}  measurement ${w.measurement}${w.measurementSource === 'hardware' ? ' (MRENCLAVE)' : ''}  sealing root ${w.sealingRoot}${w.sealingRoot === 'simulated-file' ? ' (SIMULATED: the data directory can unseal its keys)' : ''}`,
          ),
        `  data dir   ${host.dataDir}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        process.stdout.write('stopping…\n');
        host.close().then(() => process.exit(0), () => process.exit(1));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
