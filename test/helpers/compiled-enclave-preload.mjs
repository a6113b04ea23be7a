// Loaded with `node --import` into a test's `obscura serve` process (compiled-enclave.ts,
// serveFromBuild), never into the enclave it starts. When the test set
// OBSCURA_TEST_ENCLAVE_FROM and _TO, node's `fork` of exactly that entry (serve's code tree's
// src/enclave/main.ts, started through tsx's loader) starts the compiled entry instead,
// without the loader: the same process, channel, heap cap and environment, as the test hosts'
// enclaves start (compiledEnclave). Every other fork (the chain process, another code tree's
// enclave) is untouched. Plain JavaScript: serve runs from dist/, with no TypeScript loader.
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';

const from = process.env.OBSCURA_TEST_ENCLAVE_FROM;
const to = process.env.OBSCURA_TEST_ENCLAVE_TO;
// Not passed on: the enclave and the chain process read their own environment.
delete process.env.OBSCURA_TEST_ENCLAVE_FROM;
delete process.env.OBSCURA_TEST_ENCLAVE_TO;

if (from && to) {
  const fork = childProcess.fork;
  /** Node options without tsx's `--import <loader>` pair (the compiled entry needs no loader). */
  const withoutLoader = (execArgv) => {
    const out = [];
    for (let i = 0; i < execArgv.length; i++) {
      if (execArgv[i] === '--import' && /[\\/]tsx[\\/]/.test(execArgv[i + 1] ?? '')) i++;
      else out.push(execArgv[i]);
    }
    return out;
  };
  childProcess.fork = (modulePath, args, options) =>
    String(modulePath) === from
      ? fork(to, args, { ...options, execArgv: withoutLoader(options?.execArgv ?? []) })
      : fork(modulePath, args, options);
  syncBuiltinESMExports();
}
