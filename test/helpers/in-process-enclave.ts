/**
 * The real enclave, run inside the test process: `startEnclave` (src/enclave/start.ts) and
 * the handlers' dispatcher, the same code `src/enclave/main.ts` runs in its own process,
 * behind a stand-in for the one thing that differs, node's IPC channel. Messages cross it as
 * copies made with the structured clone algorithm (what `serialization: 'advanced'` uses),
 * so host and enclave share no object, and they arrive in order on a later turn of the
 * event loop, as IPC messages do. The host side is the real EnclaveClient.
 *
 * For tests whose point is not the process boundary: it saves each enclave start the
 * process and module loading (seconds each). What only a process has is not here: a kill
 * stops the channel but cannot stop a handler that is running, there is no heap cap, and
 * host and enclave share one memory. Tests about kills, restarts after a crash, heap caps,
 * what the host process can read, or another code tree keep real processes (the default).
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { EnclaveMessage } from '../../src/contracts/enclave-protocol.ts';
import { ENCLAVE_ENTRY, PROJECT_ROOT } from '../../src/contracts/measurement.ts';
import type { EnclaveContext } from '../../src/enclave/context.ts';
import { dispatch } from '../../src/enclave/handlers/index.ts';
import { startEnclave } from '../../src/enclave/start.ts';
import type { EnclaveSpawn } from '../../src/host/enclave-client.ts';

// Far above any real pid, so a test comparing pids never takes one for a process.
let nextPid = 1 << 30;

/** The channel's two ends in one process: what EnclaveClient sees as its child. */
class InProcessChannel extends EventEmitter {
  readonly pid = nextPid++;
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  connected = true;
  private cx: EnclaveContext | undefined;
  /** Requests sent before the enclave was ready wait here, as they would in the pipe. */
  private readonly queued: unknown[] = [];

  constructor(env: NodeJS.ProcessEnv) {
    super();
    startEnclave(env, (m) => this.toHost(m)).then(
      (cx) => {
        this.cx = cx;
        for (const q of this.queued.splice(0)) void dispatch(q, cx);
        this.toHost({ type: 'ready' });
      },
      (e: unknown) => {
        // As main.ts reports a failed start: one line on stderr, then exit code 1.
        this.stderr.write(`enclave failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
        this.exit(1, null);
      },
    );
  }

  /** The enclave's send: a copy reaches the host's 'message' listeners on a later turn. */
  private toHost(message: EnclaveMessage): void {
    if (!this.connected) return;
    const copy = structuredClone(message);
    setImmediate(() => {
      if (this.connected) this.emit('message', copy);
    });
  }

  /** The host's send: a copy reaches the enclave's dispatcher on a later turn. */
  send(message: unknown, callback?: (e: Error | null) => void): boolean {
    if (!this.connected) {
      // As node's channel: a send after it closed reports 'Channel closed' to the callback.
      if (callback) setImmediate(() => callback(new Error('Channel closed')));
      return false;
    }
    const copy = structuredClone(message);
    setImmediate(() => {
      callback?.(null);
      if (!this.connected) return;
      if (this.cx) void dispatch(copy, this.cx);
      else this.queued.push(copy);
    });
    return true;
  }

  /** As a killed process: the channel closes at once (a running handler is not stopped; its answer is dropped). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    this.exit(null, signal);
    return true;
  }

  /** As main.ts on 'disconnect': the enclave ends itself by SIGKILL (enclave/host-link.ts). */
  disconnect(): void {
    this.exit(null, 'SIGKILL');
  }

  private exit(code: number | null, signal: NodeJS.Signals | null): void {
    if (!this.connected) return;
    this.connected = false;
    setImmediate(() => {
      this.emit('exit', code, signal);
      this.stdout.end();
      this.stderr.end();
      this.emit('close', code, signal);
    });
  }
}

/**
 * An EnclaveSpawn that runs this project's enclave in-process (HostOptions.enclaveSpawn,
 * EnclaveOptions.spawn). Another code tree's enclave (an upgrade's) cannot run here.
 */
export const inProcessEnclave: EnclaveSpawn = (entry, _execArgv, env) => {
  if (entry !== join(PROJECT_ROOT, ENCLAVE_ENTRY))
    throw new Error(`an in-process enclave runs only this tree's ${ENCLAVE_ENTRY}, not ${entry}`);
  // EnclaveClient uses only the part of ChildProcess the channel implements above.
  return new InProcessChannel(env) as unknown as ChildProcess;
};
