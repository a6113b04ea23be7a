/**
 * `obscura verify`: check a result as an auditor — hash, enclave signature, attestation and
 * chain anchor — printing each check; exits non-zero if any fails. The chain is queried
 * directly (not through the API host), and it is the user's: `--chain`, else
 * OBSCURA_VERIFY_CHAIN, else `verify.chain` in the CLI configuration (src/cli/config.ts). Only
 * when none is given does it fall back to the endpoint the API host names, with a WARN line:
 * a hostile host could name a chain of its own making.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import { DEFAULTS, env } from '../../common/env.ts';
import { ObscuraError } from '../../common/errors.ts';
import { loadPolicy } from '../../attestation/policy.ts';
import { ChainHashSchema } from '../../chain/schemas.ts';
import { parseResultDocument } from '../../provenance/document.ts';
import type { ChainPin } from '../../provenance/verify.ts';
import { loadCliConfig } from '../config.ts';
import { ApiClient, commandKey } from '../client.ts';
import { emit, type GlobalOptions } from '../output.ts';

const HealthChainSchema = z.object({ chain: z.object({ endpoint: z.string().regex(/^wss?:\/\//) }) });

/** Where the chain to verify against came from. */
type ChainSource = 'flag' | 'env' | 'config' | 'host' | 'default';

/** The chain a verification uses, where it came from, and the hashes pinned for it. */
interface VerifyChain {
  endpoint: string;
  source: ChainSource;
  pin: ChainPin;
  /** Set when the chain is not the user's own choice. */
  warning?: string;
}

/** Pick the chain: the user's (flag, environment, configuration) before the host's. */
async function verifyChain(
  opts: { chain?: string; genesis?: string; config?: string },
  api: ApiClient,
): Promise<VerifyChain> {
  const { path, config } = await loadCliConfig(opts.config);
  const genesisHash = opts.genesis ?? config.verify?.genesisHash;
  const block1Hash = config.verify?.block1Hash;
  const pin: ChainPin = { ...(genesisHash ? { genesisHash } : {}), ...(block1Hash ? { block1Hash } : {}) };
  if (opts.chain) return { endpoint: opts.chain, source: 'flag', pin };
  const fromEnv = env().OBSCURA_VERIFY_CHAIN;
  if (fromEnv) return { endpoint: fromEnv, source: 'env', pin };
  if (config.verify?.chain) return { endpoint: config.verify.chain, source: 'config', pin };
  const how = `give the chain to trust with --chain, OBSCURA_VERIFY_CHAIN or "verify": { "chain": … } in ${path}`;
  try {
    const endpoint = HealthChainSchema.parse(await api.get('/v1/health')).chain.endpoint;
    return {
      endpoint,
      source: 'host',
      pin,
      warning: `WARN: checking the anchor on the chain the API host names (${endpoint}), which the host controls; ${how}`,
    };
  } catch {
    const endpoint = `ws://127.0.0.1:${DEFAULTS.chainPort}`;
    return {
      endpoint,
      source: 'default',
      pin,
      warning: `WARN: no chain given and the API host did not name one; checking on ${endpoint}; ${how}`,
    };
  }
}

/** Register `verify`. */
export function verifyCommand(program: Command): void {
  program
    .command('verify')
    .argument('[id]', 'result id (fetched from the API)')
    .option('--file <file>', 'verify a saved result document instead')
    .option(
      '--key <file>',
      'your account key file (default OBSCURA_KEY): fetches a result that is not public, and decrypts its sealed outputs to check them when you are one of its readers',
    )
    .option(
      '--chain <url>',
      "chain to check the anchor on (else OBSCURA_VERIFY_CHAIN, else verify.chain in the config file; the API host's chain only as a warned fallback)",
    )
    .option(
      '--genesis <hash>',
      'genesis hash the chain must have (else verify.genesisHash in the config file)',
    )
    .option(
      '--config <file>',
      'CLI configuration file (else OBSCURA_CONFIG, else ~/.config/obscura/config.json)',
    )
    .option(
      '--measurement <hex>',
      'accepted measurement (repeatable; default: the one the result names)',
      (v: string, p: string[] = []) => [...p, v],
    )
    .option('--allow-simulated', 'accept a simulated TEE')
    .option(
      '--policy <file>',
      'attestation policy to decide the enclave by (needed to decide on TDX MRTD/RTMRs)',
    )
    .action(
      async (
        id: string | undefined,
        opts: {
          file?: string;
          key?: string;
          chain?: string;
          genesis?: string;
          config?: string;
          measurement?: string[];
          allowSimulated?: boolean;
          policy?: string;
        },
        cmd: Command,
      ) => {
        const g = cmd.optsWithGlobals<GlobalOptions>();
        const key = await commandKey(opts.key);
        const api = new ApiClient(g.api, key);
        let raw: unknown;
        if (opts.file) {
          const text = await readFile(opts.file, 'utf8').catch((e: unknown) => {
            throw new ObscuraError('file_unreadable', `cannot read ${opts.file}`, 400, undefined, {
              cause: e,
            });
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
        if (opts.genesis !== undefined && !ChainHashSchema.safeParse(opts.genesis).success) {
          throw new ObscuraError(
            'verify_genesis_invalid',
            '--genesis must be 0x and 64 lower-case hex characters',
            400,
          );
        }
        const chain = await verifyChain(opts, api);
        // On stderr, so that it shows with --json and when stdout is piped away.
        if (chain.warning) process.stderr.write(`${chain.warning}\n`);
        // Loaded on demand: the chain client takes seconds to import.
        const { verifyResultDocument } = await import('../../provenance/verify.ts');
        const verdict = await verifyResultDocument(doc, {
          chainEndpoint: chain.endpoint,
          pin: chain.pin,
          allowSimulated: opts.allowSimulated === true,
          ...(opts.measurement ? { measurements: opts.measurement } : {}),
          ...(opts.policy ? { policy: await loadPolicy(opts.policy) } : {}),
          ...(key ? { reader: key } : {}),
        });
        const lines = verdict.checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`);
        lines.push(
          verdict.ok
            ? `result ${doc.id} verified${verdict.simulated ? ' (simulated TEE)' : ''}`
            : `result ${doc.id} FAILED verification`,
        );
        emit(
          g,
          {
            id: doc.id,
            ...verdict,
            chain: {
              endpoint: chain.endpoint,
              source: chain.source,
              ...chain.pin,
              ...(chain.warning ? { warning: chain.warning } : {}),
            },
          },
          lines.join('\n'),
        );
        if (!verdict.ok) process.exitCode = 1;
      },
    );
}
