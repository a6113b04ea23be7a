/**
 * Quiets chopsticks' logger before chopsticks is first imported: it reads LOG_LEVEL once,
 * at import, and logs every built block at "info". Default here is "warn";
 * OBSCURA_CHAIN_LOG_LEVEL (fatal|error|warn|info|debug|trace) picks another. An explicit
 * LOG_LEVEL wins (chopsticks refuses to load when LOG_LEVEL holds any other value).
 * Import this module before any `@acala-network/chopsticks*` import.
 */
const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace']);
const wanted = process.env.OBSCURA_CHAIN_LOG_LEVEL;
if (process.env.LOG_LEVEL === undefined) {
  process.env.LOG_LEVEL = wanted !== undefined && LEVELS.has(wanted) ? wanted : 'warn';
}
