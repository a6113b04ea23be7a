/**
 * Keeps @polkadot's start-up lines ("API/INIT: MetadataApi not available…", "API-WS:
 * disconnected…") off a CLI user's terminal. @polkadot logs through `console` with a date
 * and a padded `ORIGIN:` tag as the first two arguments; those calls are dropped unless
 * OBSCURA_DEBUG is set. The CLI reports a chain that fails as its own one-line error
 * (chain_unreachable), so nothing a user needs is lost. `obscura serve` keeps them: they
 * are an operator's logs.
 */
const DATE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;
const ORIGIN = /^\s*[A-Z][A-Z0-9/_-]*:$/;

/** True for a line @polkadot's logger writes. */
export function isPolkadotLog(args: readonly unknown[]): boolean {
  const [date, origin] = args;
  return typeof date === 'string' && typeof origin === 'string' && DATE.test(date) && ORIGIN.test(origin);
}

/** Drop @polkadot's log lines from console.log/warn/error/info for this process. */
export function quietPolkadot(): void {
  if (process.env['OBSCURA_DEBUG']) return;
  for (const method of ['log', 'warn', 'error', 'info'] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      if (!isPolkadotLog(args)) original(...args);
    };
  }
}
