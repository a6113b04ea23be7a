/** `obscura workers`: list workers and verify each one's attestation with a fresh nonce. */
import type { Command } from 'commander';
import { type AttestationFlags, attestationSetup, attestWorker, listWorkers } from '../attest.ts';
import { ApiClient } from '../client.ts';
import { emit, type GlobalOptions } from '../output.ts';

/** Register `workers`. */
export function workersCommand(program: Command): void {
  program
    .command('workers')
    .option('--allow-simulated', 'accept evidence from the simulated TEE (never for real data)')
    .option('--policy <file>', 'attestation policy (YAML) each worker must satisfy')
    .option('--pccs <url>', "PCCS for DCAP collateral (default Intel's PCS)")
    .action(
      async (
        opts: { allowSimulated?: boolean } & Pick<AttestationFlags, 'policy' | 'pccs'>,
        cmd: Command,
      ) => {
        const g = cmd.optsWithGlobals<GlobalOptions>();
        const api = new ApiClient(g.api);
        const setup = await attestationSetup(opts);
        const rows = [];
        for (const w of await listWorkers(api)) {
          const verdict = await attestWorker(api, w, {
            ...setup,
            allowSimulated: opts.allowSimulated === true,
          });
          rows.push({
            ...w,
            attestation: { verified: verdict.ok, simulated: verdict.simulated, checks: verdict.checks },
          });
        }
        const text = rows
          .map((w) => {
            const status = w.attestation.verified ? 'verified' : 'NOT verified';
            const failed = w.attestation.checks.filter((c) => !c.ok).map((c) => `  ✗ ${c.name}: ${c.detail}`);
            return [
              `${w.id}  tee=${w.tee}${w.simulated ? ' (simulated)' : ''}  status=${w.status}`,
              `  measurement  ${w.measurement}`,
              `  sealing root ${w.sealingRoot}${w.sealingRoot === 'simulated-file' ? ' (SIMULATED: anyone who can read the data directory can unseal its keys)' : ''}`,
              `  recipient    ${w.recipient}`,
              `  attestation  ${status}${w.attestation.simulated ? ' (simulated)' : ''}`,
              ...failed,
            ].join('\n');
          })
          .join('\n');
        emit(g, { workers: rows }, text || 'no workers');
        if (rows.some((r) => !r.attestation.verified)) process.exitCode = 1;
      },
    );
}
