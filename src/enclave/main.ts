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
import { isObscuraError } from '../common/errors.ts';
import type { EnclaveMessage } from '../contracts/enclave-protocol.ts';
import { dispatch } from './handlers/index.ts';
import { endNow, endWithHost } from './host-link.ts';
import { startEnclave } from './start.ts';

function send(message: EnclaveMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('the enclave must be started by the host with an IPC channel');
  // Listened for before the start's first await: a host that dies while its enclave starts
  // (a second or more: modules, identity, the first quote) must not leave it running alone,
  // holding its memory and sealed identity with no one to answer.
  endWithHost();
  const cx = await startEnclave(process.env, send);
  if (!process.connected) endNow();
  process.on('message', (raw: unknown) => void dispatch(raw, cx));
  send({ type: 'ready' });
}

main().catch((e: unknown) => {
  // Startup failures carry no data yet (no dataset has been opened), so the message is safe.
  process.stderr.write(
    `enclave failed to start: ${isObscuraError(e) ? `${e.code}: ` : ''}${e instanceof Error ? e.message : String(e)}\n`,
  );
  process.exit(1);
});
