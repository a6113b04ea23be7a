/**
 * Keeps @polkadot's log lines ("API/INIT: MetadataApi not available…", "API-WS:
 * disconnected…", "RPC-CORE: getBlock(…): Block … not found") off a CLI user's terminal and
 * out of the dashboard page's console. @polkadot logs through `console` with a date and a
 * padded `ORIGIN:` tag as the first two arguments; those calls are dropped. Both report what
 * a chain answered in their own words (chain_unreachable, a failed `block` check naming the
 * block not found), so nothing a user needs is lost. `obscura serve` keeps them: they are an
 * operator's logs.
 */
const DATE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;
const ORIGIN = /^\s*[A-Z][A-Z0-9/_-]*:$/;

/** True for a line @polkadot's logger writes. */
export function isPolkadotLog(args: readonly unknown[]): boolean {
  const [date, origin] = args;
  return typeof date === 'string' && typeof origin === 'string' && DATE.test(date) && ORIGIN.test(origin);
}

let quieted = false;

/** Drop @polkadot's log lines from console.log/warn/error/info from now on (this process or page). */
export function quietPolkadot(): void {
  if (quieted) return;
  quieted = true;
  for (const method of ['log', 'warn', 'error', 'info'] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      if (!isPolkadotLog(args)) original(...args);
    };
  }
}
