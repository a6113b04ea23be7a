/**
 * Entry of the embedded chain's own process (started by process.ts). It starts the chain
 * when told, answers with its endpoint, closes when told, and exits as soon as its host goes
 * away (the IPC channel closes), so a killed host never leaves a chain holding its port or
 * its database.
 */
import { ObscuraError } from '../../common/errors.ts';
import { type EmbeddedChain, startEmbeddedChain } from './embedded.ts';
import { type ChainProcessReply, ChainProcessRequestSchema } from './process-protocol.ts';

let chain: EmbeddedChain | undefined;

/** Send `message` to the host; with `thenLeave`, close the channel once it has gone out. */
function reply(message: ChainProcessReply, thenLeave = false): void {
  process.send?.(message, undefined, undefined, () => {
    if (thenLeave) process.disconnect?.();
  });
}

process.on('disconnect', () => {
  // The host is gone. The chain's database survives a hard stop (it did when the chain ran
  // inside the host and the host was killed), and exiting now frees the port at once for the
  // host's next start.
  process.exit();
});

process.on('message', (raw: unknown) => {
  const parsed = ChainProcessRequestSchema.safeParse(raw);
  if (!parsed.success) {
    reply({
      type: 'failed',
      code: 'chain_start_failed',
      message: 'malformed message from the host',
      status: 500,
    });
    return;
  }
  const request = parsed.data;
  if (request.type === 'start') {
    startEmbeddedChain(request.options).then(
      (started) => {
        chain = started;
        reply({ type: 'ready', endpoint: started.endpoint });
      },
      (e: unknown) => {
        const err =
          e instanceof ObscuraError
            ? e
            : new ObscuraError('chain_start_failed', 'embedded chain failed to start', 500);
        process.exitCode = 1;
        reply({ type: 'failed', code: err.code, message: err.message, status: err.status }, true);
      },
    );
    return;
  }
  void (chain?.close() ?? Promise.resolve()).then(() => {
    reply({ type: 'closed' }, true);
  });
});
