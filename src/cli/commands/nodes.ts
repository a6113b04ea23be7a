/** `obscura nodes`: the federation's nodes as the chain lists them, with each worker's attestation checked now. */
import type { Command } from 'commander';
import { z } from 'zod';
import { NodeStatusSchema } from '../../contracts/node-record.ts';
import { ApiClient } from '../client.ts';
import { emit, type GlobalOptions } from '../output.ts';

const PageSchema = z.object({ nodes: z.array(NodeStatusSchema), next: z.string().nullable() });

/** Register `nodes`. */
export function nodesCommand(program: Command): void {
  program.command('nodes').action(async (_opts: unknown, cmd: Command) => {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    const api = new ApiClient(g.api);
    const nodes: z.infer<typeof NodeStatusSchema>[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?cursor=${encodeURIComponent(cursor)}` : '';
      const page = PageSchema.parse(await api.get(`/v1/nodes${query}`));
      nodes.push(...page.nodes);
      cursor = page.next;
    } while (cursor);
    const text = nodes
      .map((n) =>
        [
          `${n.url}${n.self ? '  (this node)' : ''}  operator ${n.operator}  ${n.status} until ${n.expiresAt}`,
          ...n.workers.map(
            (w) =>
              `  ${w.id}  tee=${w.tee}${w.simulated ? ' (simulated)' : ''}  measurement ${w.measurement}  attestation ${w.attestation.ok ? 'verified' : `NOT verified (${w.attestation.detail})`}`,
          ),
        ].join('\n'),
      )
      .join('\n');
    emit(g, { nodes }, text || 'no nodes on the chain');
    if (nodes.some((n) => n.status === 'fresh' && n.workers.some((w) => !w.attestation.ok)))
      process.exitCode = 1;
  });
}
