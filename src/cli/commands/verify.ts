/**
 * `obscura verify`: check a result as an auditor — hash, enclave signature, attestation and
 * chain anchor — printing each check; exits non-zero if any fails. The chain is queried
 * directly (not through the API host).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import { DEFAULTS, env } from '../../common/env.ts';
import { ObscuraError } from '../../common/errors.ts';
import { loadPolicy } from '../../attestation/policy.ts';
import { parseResultDocument } from '../../provenance/document.ts';
import { ApiClient } from '../client.ts';
import { emit, type GlobalOptions } from '../output.ts';

const HealthChainSchema = z.object({ chain: z.object({ endpoint: z.string() }) });

async function chainEndpoint(flag: string | undefined, api: ApiClient): Promise<string> {
  if (flag) return flag;
  const fromEnv = env().OBSCURA_CHAIN;
  if (fromEnv) return fromEnv;
  try {
    return HealthChainSchema.parse(await api.get('/v1/health')).chain.endpoint;
  } catch {
    return `ws://127.0.0.1:${DEFAULTS.chainPort}`;
  }
}

/** Register `verify`. */
export function verifyCommand(program: Command): void {
  program
    .command('verify')
    .description("verify a result's signature, attestation and chain anchor")
    .argument('[id]', 'result id (fetched from the API)')
    .option('--file <file>', 'verify a saved result document instead')
    .option('--chain <url>', 'chain endpoint (default: OBSCURA_CHAIN, else the one the API reports)')
    .option('--measurement <hex>', 'accepted measurement (repeatable; default: the one the result names)', (v: string, p: string[] = []) => [...p, v])
    .option('--allow-simulated', 'accept a simulated TEE')
    .option('--policy <file>', 'attestation policy to decide the enclave by (needed to decide on TDX MRTD/RTMRs)')
    .action(async (id: string | undefined, opts: { file?: string; chain?: string; measurement?: string[]; allowSimulated?: boolean; policy?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const api = new ApiClient(g.api);
      let raw: unknown;
      if (opts.file) {
        const text = await readFile(opts.file, 'utf8').catch((e: unknown) => {
          throw new ObscuraError('file_unreadable', `cannot read ${opts.file}`, 400, undefined, { cause: e });
        });
        try {
          raw = JSON.parse(text);
        } catch {
          throw new ObscuraError('result_invalid', `${opts.file} is not JSON`, 400);
        }
      } else if (id) {
        raw = await api.get(`/v1/results/${encodeURIComponent(id)}`);
      } else {
        throw new ObscuraError('verify_needs_input', 'give a result id or --file', 400);
      }
      const doc = parseResultDocument(raw);
      // Loaded on demand: the chain client takes seconds to import.
      const { verifyResultDocument } = await import('../../provenance/verify.ts');
      const verdict = await verifyResultDocument(doc, {
        chainEndpoint: await chainEndpoint(opts.chain, api),
        allowSimulated: opts.allowSimulated === true,
        ...(opts.measurement ? { measurements: opts.measurement } : {}),
        ...(opts.policy ? { policy: await loadPolicy(opts.policy) } : {}),
      });
      const lines = verdict.checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`);
      lines.push(verdict.ok ? `result ${doc.id} verified${verdict.simulated ? ' (simulated TEE)' : ''}` : `result ${doc.id} FAILED verification`);
      emit(g, { id: doc.id, ...verdict }, lines.join('\n'));
      if (!verdict.ok) process.exitCode = 1;
    });
}
