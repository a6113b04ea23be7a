/** `obscura serve` (what `npm start` runs): the chain, one enclave worker and the API. */
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { TeeChoiceSchema, type TeeChoice } from '../../attestation/providers/config.ts';
import { DEFAULTS, env } from '../../common/env.ts';
import { ObscuraError } from '../../common/errors.ts';
import { JOB_LIMITS, type JobLimits, parseByteSize } from '../../pipelines/limits.ts';

/** The operator's per-job limits from flags (or the environment), checked; absent ones keep the enclave's defaults. */
export function jobLimitsOf(given: {
  timeout?: string;
  maxRows?: string;
  memory?: string;
}): Partial<JobLimits> {
  const limits: Partial<JobLimits> = {};
  const refuse = (flag: string, why: string): never => {
    throw new ObscuraError('job_limits_invalid', `--${flag} ${why}`, 400);
  };
  const within = (flag: string, v: number, r: { min: number; max: number }, unit = 1) => {
    if (v < r.min || v > r.max) refuse(flag, `must be from ${r.min / unit} to ${r.max / unit}`);
    return v;
  };
  if (given.timeout !== undefined) {
    const s = Number(given.timeout);
    if (!/^\d+(\.\d+)?$/.test(given.timeout) || !Number.isFinite(s))
      refuse('job-timeout', `must be a number of seconds, not ${given.timeout}`);
    limits.timeoutMs = within('job-timeout', Math.round(s * 1000), JOB_LIMITS.timeoutMs, 1000);
  }
  if (given.maxRows !== undefined) {
    if (!/^\d+$/.test(given.maxRows)) refuse('job-max-rows', `must be a whole number, not ${given.maxRows}`);
    limits.maxRows = within('job-max-rows', Number(given.maxRows), JOB_LIMITS.maxRows);
  }
  if (given.memory !== undefined) {
    const bytes = parseByteSize(given.memory);
    if (bytes === undefined)
      refuse('job-memory', `must be a size such as 2GB or 512MiB, not ${given.memory}`);
    limits.memoryBytes = within('job-memory', bytes as number, JOB_LIMITS.memoryBytes, 1024 ** 2);
  }
  return limits;
}

/** Register `serve`. */
export function serveCommand(program: Command): void {
  program
    .command('serve')
    .option('--data-dir <dir>', 'data directory', env().OBSCURA_DATA_DIR ?? DEFAULTS.dataDir)
    .option('--port <port>', 'API port', String(DEFAULTS.port))
    .option('--chain-port <port>', 'embedded chain RPC port', String(DEFAULTS.chainPort))
    .option('--chain <url>', 'use this Substrate node instead of the embedded chain (or OBSCURA_CHAIN)')
    .addOption(
      new Option('--tee <kind>', 'where workers get attestation evidence (or OBSCURA_TEE)')
        .choices(TeeChoiceSchema.options)
        .default(env().OBSCURA_TEE ?? 'simulated'),
    )
    .option(
      '--tee-root <dir>',
      'TEE device root: configfs-tsm report dir for tdx, /dev/attestation for sgx-gramine (or OBSCURA_TEE_ROOT)',
    )
    .option(
      '--dstack-endpoint <socket|url>',
      'dstack guest agent socket or simulator URL; for tdx, the agent whose KMS gives the sealing root (or OBSCURA_DSTACK_ENDPOINT)',
    )
    .option(
      '--predecessor <dir>',
      "the previous release's checkout: workers hand their identity over from its enclave (an authorised upgrade)",
    )
    .option(
      '--workers <n>',
      'how many enclave workers to run (worker-1 … worker-n); federated training needs two or more',
      '1',
    )
    .option(
      '--job-timeout <seconds>',
      `wall-time limit per job (or OBSCURA_JOB_TIMEOUT; default ${JOB_LIMITS.timeoutMs.default / 1000})`,
    )
    .option(
      '--job-max-rows <n>',
      `row limit per materialised step of a job (or OBSCURA_JOB_MAX_ROWS; default ${JOB_LIMITS.maxRows.default})`,
    )
    .option(
      '--job-memory <size>',
      `memory limit per job, e.g. 2GB (or OBSCURA_JOB_MEMORY; default ${JOB_LIMITS.memoryBytes.default / 1024 ** 2}MiB)`,
    )
    .option(
      '--public-url <url>',
      "this node's API URL as other organisations' nodes reach it (default the URL it listens on)",
    )
    .option('--no-register', 'do not publish this node in the registry on the chain')
    .option('--quiet', 'print only the startup summary')
    .action(
      async (opts: {
        dataDir: string;
        port: string;
        chainPort: string;
        chain?: string;
        tee: TeeChoice;
        teeRoot?: string;
        dstackEndpoint?: string;
        predecessor?: string;
        workers: string;
        jobTimeout?: string;
        jobMaxRows?: string;
        jobMemory?: string;
        quiet?: boolean;
        publicUrl?: string;
        register: boolean;
      }) => {
        const count = Number(opts.workers);
        const timeout = opts.jobTimeout ?? env().OBSCURA_JOB_TIMEOUT;
        const maxRows = opts.jobMaxRows ?? env().OBSCURA_JOB_MAX_ROWS;
        const memory = opts.jobMemory ?? env().OBSCURA_JOB_MEMORY;
        const jobLimits = jobLimitsOf({
          ...(timeout ? { timeout } : {}),
          ...(maxRows ? { maxRows } : {}),
          ...(memory ? { memory } : {}),
        });
        if (!Number.isInteger(count) || count < 1 || count > 16)
          throw new ObscuraError(
            'workers_invalid',
            `--workers must be a whole number from 1 to 16, not ${opts.workers}`,
            400,
          );
        const chainEndpoint = opts.chain ?? env().OBSCURA_CHAIN;
        const teeRoot = opts.teeRoot ?? env().OBSCURA_TEE_ROOT;
        const dstackEndpoint = opts.dstackEndpoint ?? env().OBSCURA_DSTACK_ENDPOINT;
        const tee = {
          tee: opts.tee,
          ...(teeRoot ? { root: teeRoot } : {}),
          ...(dstackEndpoint ? { endpoint: dstackEndpoint } : {}),
        };
        const operatorSuri = env().OBSCURA_OPERATOR_SURI;
        const operators = (env().OBSCURA_OPERATORS ?? '')
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean);
        const inFlight = env().OBSCURA_UPLOADS_IN_FLIGHT;
        const quota = env().OBSCURA_STORAGE_QUOTA_BYTES;
        const minFreeBytes = env().OBSCURA_MIN_FREE_BYTES;
        const maxUploadBytes = env().OBSCURA_MAX_UPLOAD_BYTES;
        const uploadLimits = {
          ...(inFlight ? { inFlightPerAccount: inFlight } : {}),
          ...(quota ? { bytesPerAccount: quota } : {}),
        };
        const t0 = Date.now();
        const { startHost } = await import('../../host/api/host.ts');
        const host = await startHost({
          dataDir: opts.dataDir,
          port: Number(opts.port),
          chainPort: Number(opts.chainPort),
          chainProcess: true,
          tee,
          workerIds: Array.from({ length: count }, (_, i) => `worker-${i + 1}`),
          ...(chainEndpoint ? { chainEndpoint } : {}),
          ...(operatorSuri ? { operatorSuri } : {}),
          ...(opts.predecessor ? { predecessorRoot: resolve(opts.predecessor) } : {}),
          ...(operators.length ? { operators } : {}),
          uploadLimits,
          jobLimits,
          registerNode: opts.register,
          ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
          ...(minFreeBytes !== undefined ? { minFreeBytes } : {}),
          ...(maxUploadBytes !== undefined ? { maxUploadBytes } : {}),
          log: (level, message) => {
            if (!opts.quiet || level !== 'info')
              process.stderr.write(`${new Date().toISOString()} ${level} ${message}\n`);
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
          ...host.workers
            .list()
            .slice(0, 1)
            .flatMap((w) =>
              w.limits
                ? [
                    `  job limits ${w.limits.timeoutMs / 1000} s, ${w.limits.maxRows} rows per step, ${Math.round(w.limits.memoryBytes / 1024 ** 2)} MiB`,
                  ]
                : [],
            ),
          `  operator   ${host.operatorAddress}${opts.register ? '  (node record on the chain: obscura nodes)' : ''}`,
          `  data dir   ${host.dataDir}`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
        let stopping = false;
        const stop = () => {
          if (stopping) return;
          stopping = true;
          process.stdout.write('stopping…\n');
          host.close().then(
            () => process.exit(0),
            () => process.exit(1),
          );
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      },
    );
}
