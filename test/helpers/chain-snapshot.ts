/**
 * Global setup of the end-to-end suite: one embedded chain built from genesis (block #1
 * made), closed, and its `chain.sqlite` handed to every test host (host.ts), which resumes
 * from it as a restarted host does instead of building block #1 again: the slowest part of
 * starting a host. Hosts made from it share the chain's identity (genesis and block #1
 * hashes) but nothing else: each copy grows on its own. A test that needs a chain of another
 * identity starts one itself (startEmbeddedChain), as test/adversary/verify-chain.test.ts does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedChain } from '../../src/host/chain/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of a closed embedded chain's `chain.sqlite` at block #1, for test hosts to copy. */
    chainSnapshot: string;
  }
}

/** Build the snapshot and provide its path; the returned teardown removes it. */
export default async function setup(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'obscura-chain-snapshot-'));
  const chain = await startEmbeddedChain({ dataDir: dir, port: 0 });
  await chain.close();
  project.provide('chainSnapshot', join(dir, 'chain.sqlite'));
  return () => rmSync(dir, { recursive: true, force: true });
}
