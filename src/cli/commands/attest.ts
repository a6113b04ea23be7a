/**
 * `obscura attest <worker id | evidence file>`: verify an enclave's attestation check by
 * check — TEE kind, quote signature chain, TCB status and advisories, measurements, report
 * data binding, collateral freshness — against an attestation policy. A worker is asked for
 * evidence bound to a fresh nonce; a file may hold a raw quote (binary or hex text) or a JSON
 * evidence document. Exits 0 only if every check holds.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { type AttestationVerdict, EvidenceSchema, verifyEvidence } from '../../attestation/index.ts';
import { isObscuraError, ObscuraError } from '../../common/errors.ts';
import { type AttestationFlags, attestationSetup, attestWorker, listWorkers } from '../attest.ts';
import { ApiClient } from '../client.ts';
import { emit, type GlobalOptions } from '../output.ts';

interface AttestCommandOptions extends AttestationFlags {
  reportData?: string;
  allowSimulated?: boolean;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function parseEvidenceJson(data: Buffer, path: string) {
  let raw: unknown;
  try {
    raw = JSON.parse(data.toString('utf8'));
  } catch {
    throw new ObscuraError('evidence_invalid', `${path} is not JSON`, 400);
  }
  const doc =
    raw !== null && typeof raw === 'object' && 'evidence' in raw
      ? (raw as { evidence: unknown }).evidence
      : raw;
  const r = EvidenceSchema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ObscuraError(
      'evidence_invalid',
      `${path} is not Obscura evidence: ${i?.path.join('.') || '(document)'}: ${i?.message}`,
      400,
    );
  }
  return r.data;
}

/** The quote's fields as `name value` lines. */
function fieldLines(v: AttestationVerdict): string[] {
  const q = v.quote?.parsed;
  if (!q)
    return [
      `  TEE          ${v.simulated ? 'simulated (not hardware)' : v.tee}`,
      `  measurement  ${v.measurement}`,
    ];
  const rows: [string, string][] = [['TEE', v.quote?.kind ?? q.tee]];
  if (q.tee === 'tdx') {
    rows.push(
      ['MRTD', q.td.mrTd],
      ['RTMR0', q.td.rtMr0],
      ['RTMR1', q.td.rtMr1],
      ['RTMR2', q.td.rtMr2],
      ['RTMR3', q.td.rtMr3],
      ['MRSEAM', q.td.mrSeam],
    );
  } else {
    rows.push(
      ['MRENCLAVE', q.sgx.mrEnclave],
      ['MRSIGNER', q.sgx.mrSigner],
      ['ISV prod id', String(q.sgx.isvProdId)],
      ['ISV SVN', String(q.sgx.isvSvn)],
    );
  }
  rows.push(['report data', q.reportData]);
  if (q.pck) rows.push(['FMSPC', `${q.pck.fmspc} (PCK ${q.pck.ca} CA)`]);
  return rows.map(([k, val]) => `  ${k.padEnd(12)} ${val}`);
}

/** The verdict as people read it: fields, then one line per check, then the outcome. */
export function verdictText(subject: string, v: AttestationVerdict): string {
  const failed = v.checks.filter((c) => !c.ok);
  const outcome = v.ok
    ? `${subject}: attestation verified, every check holds${v.simulated ? ' (SIMULATED TEE, not hardware)' : ''}`
    : `${subject}: attestation NOT verified: ${failed.length} of ${v.checks.length} checks failed (${failed.map((c) => c.name).join(', ')})`;
  return [
    `attestation of ${subject}`,
    ...fieldLines(v),
    ...v.checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`),
    outcome,
  ].join('\n');
}

/** Register `attest`. */
export function attestCommand(program: Command): void {
  program
    .command('attest')
    .argument(
      '<target>',
      'a worker id (asked for fresh evidence), or a file: raw quote (binary or hex) or evidence JSON',
    )
    .option(
      '--policy <file>',
      'attestation policy (YAML) to decide by; without it measurements are reported, not decided',
    )
    .option('--collateral <file>', 'verify offline with this collateral JSON instead of fetching it')
    .option('--at <seconds>', 'verification time, Unix seconds (default: now)')
    .option('--report-data <hex>', 'the 64-byte report data (128 hex digits) the quote must carry')
    .option(
      '--pccs <url>',
      "PCCS to fetch collateral from (default Intel's PCS, https://api.trustedservices.intel.com)",
    )
    .option('--cache-dir <dir>', 'collateral cache directory (default ~/.cache/obscura/collateral)')
    .option('--allow-simulated', 'accept evidence from the simulated TEE (never for real data)')
    .action(async (target: string, opts: AttestCommandOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      if (opts.reportData !== undefined && !/^(0x)?[0-9a-fA-F]{128}$/.test(opts.reportData)) {
        throw new ObscuraError('bad_option', '--report-data takes 64 bytes as 128 hex digits', 400);
      }
      const setup = await attestationSetup(opts);
      const expect = {
        ...setup,
        allowSimulated: opts.allowSimulated === true,
        ...(opts.reportData ? { reportData: opts.reportData.replace(/^0x/, '').toLowerCase() } : {}),
      };
      let verdict: AttestationVerdict;
      let subject: string;
      if (await isFile(target)) {
        subject = `file ${target}`;
        const data = await readFile(target);
        if (data.subarray(0, 64).toString('utf8').trimStart().startsWith('{')) {
          verdict = await verifyEvidence(parseEvidenceJson(data, target), expect);
        } else {
          const { quoteBytesFromFile } = await import('../../attestation/dcap/quote.ts');
          const { verifyQuote } = await import('../../attestation/verify-quote.ts');
          verdict = await verifyQuote(quoteBytesFromFile(data), expect);
        }
      } else {
        subject = `worker ${target}`;
        if (opts.reportData)
          throw new ObscuraError(
            'bad_option',
            "--report-data is for quote files; a worker's report data is checked against its listed keys and the nonce sent",
            400,
          );
        const api = new ApiClient(g.api);
        const workers = await listWorkers(api).catch((e: unknown) => {
          if (isObscuraError(e, 'api_unreachable')) {
            throw new ObscuraError(
              'api_unreachable',
              `${target} is not a file, and the API to ask for a worker of that id is unreachable at ${g.api}`,
              503,
            );
          }
          throw e;
        });
        const worker = workers.find((w) => w.id === target);
        if (!worker)
          throw new ObscuraError(
            'worker_not_found',
            `${target} is neither a file nor a worker the API at ${g.api} lists`,
            404,
          );
        verdict = await attestWorker(api, worker, { ...setup, allowSimulated: opts.allowSimulated === true });
        // Where the worker keeps its keys is part of what an owner decides on before sealing.
        const root = `worker ${target} says its sealing root is ${worker.sealingRoot}${worker.sealingRoot === 'simulated-file' ? ' (SIMULATED: anyone who can read the data directory can unseal its keys)' : ''}`;
        emit(
          g,
          { subject, sealingRoot: worker.sealingRoot, ...verdict },
          `${verdictText(subject, verdict)}\n${root}`,
        );
        if (!verdict.ok) process.exitCode = 1;
        return;
      }
      emit(g, { subject, ...verdict }, verdictText(subject, verdict));
      if (!verdict.ok) process.exitCode = 1;
    });
}
