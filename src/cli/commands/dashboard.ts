/** `obscura dashboard`: the dashboard, signed in as you, served on your own machine. */
import type { Command } from 'commander';
import { ObscuraError } from '../../common/errors.ts';
import { ApiClient, commandKey } from '../client.ts';
import { startDashboardProxy } from '../dashboard-proxy.ts';
import type { GlobalOptions } from '../output.ts';

const DEFAULT_PORT = 8788;

/** Register `dashboard`. */
export function dashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .option('--key <file>', 'your account key file (default OBSCURA_KEY)')
    .option('--port <port>', 'local port', String(DEFAULT_PORT))
    .action(async (opts: { key?: string; port: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new ObscuraError('port_invalid', `--port must be a port number, not ${opts.port}`, 400);
      const key = await commandKey(opts.key);
      if (!key)
        throw new ObscuraError(
          'key_required',
          'the dashboard signs your reads: give --key <key file> or set OBSCURA_KEY',
          400,
        );
      const proxy = await startDashboardProxy(new ApiClient(g.api, key), port, key);
      process.stdout.write(
        `Obscura dashboard for ${key.address} at ${proxy.url} (API ${g.api}); Ctrl-C to stop\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          proxy.close().then(resolve, resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
