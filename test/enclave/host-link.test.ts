/**
 * An enclave ends with its host even when the host dies mid-job: with a DuckDB query in
 * flight that calls back into JavaScript (a job's scan), process.exit hung for good, the
 * orphan holding its memory and identity; the enclave's endWithHost does not.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('./fixtures/busy-enclave.ts', import.meta.url));

/** Fork the busy child, drop its channel mid-query, and say how it ended within `ms`. */
async function endedAfterDisconnect(ms: number, env: Record<string, string> = {}): Promise<string> {
  const child = fork(CHILD, {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  const ended = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)),
  );
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', () => reject(new Error('the child ended before its query ran')));
  });
  // Let the query call back into JavaScript a while, as a job's scan does.
  await new Promise((r) => setTimeout(r, 300));
  child.disconnect();
  const how = await Promise.race([
    ended,
    new Promise<string>((r) => setTimeout(() => r('still running'), ms)),
  ]);
  if (how === 'still running') child.kill('SIGKILL');
  return how;
}

it('ends when its host disconnects, even in the middle of a query', async () => {
  expect(await endedAfterDisconnect(10_000)).toBe('SIGKILL');
}, 30_000);
