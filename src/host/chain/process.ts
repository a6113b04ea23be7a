/**
 * The embedded chain in a process of its own, as `obscura serve` runs it.
 *
 * Chopsticks builds a block with many storage reads, each an await on the event loop that
 * runs it. Inside the host that loop also serves every API request, and under load (the soak
 * bench: 64 clients) a block waited minutes for its turn: every anchor timed out and no job
 * finished. In its own process the chain has its own loop; the host and the enclaves reach it
 * over its WebSocket endpoint exactly as they reach a remote chain.
 *
 * If the chain process dies, the host logs it and starts it again on the same data directory
 * and port (anchoring waits and retries meanwhile, as for any chain outage). If the host dies,
 * the chain process sees its IPC channel close and exits.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { ObscuraError, type HttpStatus } from '../../common/errors.ts';
import type { EmbeddedChain, EmbeddedChainOptions } from './embedded.ts';
import { ChainProcessReplySchema, type ChainProcessRequest } from './process-protocol.ts';

/** A running chain process. */
export interface ChainProcess extends EmbeddedChain {
  /** The current chain process's pid (it changes when the process is started again). */
  readonly pid: number | undefined;
}

/** Where the chain process's log lines go on the host. */
export type ChainProcessLog = (level: 'info' | 'warn' | 'error', message: string) => void;

const START_TIMEOUT_MS = 180_000;
const CLOSE_TIMEOUT_MS = 40_000;
const RESTART_DELAYS_MS = [500, 1_000, 2_000, 5_000, 10_000, 30_000];

/**
 * The entry file and Node options of the chain process: the compiled sibling when this module
 * runs from dist/, else the TypeScript source through tsx's loader (by absolute URL, since
 * `--import tsx` would resolve from the caller's working directory).
 */
function entry(): { file: URL; execArgv: string[] } {
  const compiled = import.meta.url.endsWith('.js');
  const file = new URL(compiled ? './process-main.js' : './process-main.ts', import.meta.url);
  if (compiled) return { file, execArgv: [] };
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { file, execArgv: ['--import', tsx] };
}

/** Start one chain process and wait for its endpoint (or its failure). */
function spawnChain(opts: EmbeddedChainOptions): Promise<{ child: ChildProcess; endpoint: string }> {
  const { file, execArgv } = entry();
  const child = fork(file, [], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  // Chopsticks' own warnings: the last lines explain a failed start.
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-2_000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new ObscuraError('chain_start_failed', 'the embedded chain did not start in time', 500));
    }, START_TIMEOUT_MS);
    const settle = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (raw: unknown) => {
      const reply = ChainProcessReplySchema.safeParse(raw);
      if (!reply.success || reply.data.type === 'closed') return;
      settle();
      if (reply.data.type === 'ready') resolve({ child, endpoint: reply.data.endpoint });
      else reject(new ObscuraError(reply.data.code, reply.data.message, reply.data.status as HttpStatus));
    };
    const onExit = (code: number | null, signal: string | null) => {
      settle();
      const last = stderr.trim().split('\n').pop() ?? '';
      reject(
        new ObscuraError(
          'chain_start_failed',
          `the embedded chain process exited (${signal ?? `code ${code}`}) before it served${last ? `: ${last}` : ''}`,
          500,
        ),
      );
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
    const start: ChainProcessRequest = { type: 'start', options: opts };
    child.send(start);
  });
}

/** Ask `child` to close its chain (pending blocks drained) and wait for it to exit; kill it if it takes too long. */
function closeChain(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    const close: ChainProcessRequest = { type: 'close' };
    if (child.connected) child.send(close);
    else child.kill('SIGTERM');
  });
}

/**
 * Starts the embedded chain (embedded.ts) in its own process and keeps it running: restarted
 * with backoff if it dies. Throws what the chain's own start throws ('chain_port_in_use',
 * 'chain_start_failed').
 */
export async function startEmbeddedChainProcess(
  opts: EmbeddedChainOptions,
  log: ChainProcessLog = () => {},
): Promise<ChainProcess> {
  const first = await spawnChain(opts);
  let child = first.child;
  // Restarts reuse the port the first start got, so every client's endpoint stays right.
  const port = Number(new URL(first.endpoint.replace(/^ws/, 'http')).port);
  let closing: Promise<void> | undefined;

  const watch = (c: ChildProcess) => {
    c.once('exit', (code, signal) => {
      if (closing) return;
      log('error', `the embedded chain process stopped (${signal ?? `code ${code}`}); starting it again`);
      void restart(0);
    });
  };
  const restart = async (attempt: number): Promise<void> => {
    const delay = RESTART_DELAYS_MS[Math.min(attempt, RESTART_DELAYS_MS.length - 1)] ?? 30_000;
    await new Promise((r) => setTimeout(r, delay));
    if (closing) return;
    try {
      const next = await spawnChain({ ...opts, port });
      if (closing) {
        await closeChain(next.child);
        return;
      }
      child = next.child;
      watch(child);
      log('info', `the embedded chain serves again at ${next.endpoint}`);
    } catch (e) {
      log('warn', `the embedded chain did not start again: ${e instanceof Error ? e.message : String(e)}`);
      await restart(attempt + 1);
    }
  };
  watch(child);

  return {
    endpoint: first.endpoint,
    get pid() {
      return child.pid;
    },
    close() {
      closing ??= closeChain(child);
      return closing;
    },
  };
}
