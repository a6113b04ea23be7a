/**
 * `npm run bench`: runs every benchmark and writes BENCHMARKS.md with the machine and the
 * date. Each figure is measured beside its peer in the same run, as a ratio, because these
 * machines are shared and noisy. `BENCH=seal,enclave` runs a subset and replaces only
 * those sections of BENCHMARKS.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { BenchSection } from './section.ts';

const ALL: Record<string, () => Promise<{ run: () => Promise<BenchSection> }>> = {
  seal: () => import('./seal.ts'),
  pipeline: () => import('./pipeline.ts'),
  join: () => import('./join.ts'),
  privacy: () => import('./privacy.ts'),
  dpnoise: () => import('./dp-noise.ts'),
  ml: () => import('./ml.ts'),
  exact: () => import('./exact.ts'),
  mlp: () => import('./mlp.ts'),
  enclave: () => import('./enclave.ts'),
  attestation: () => import('./attestation.ts'),
  roundtrip: () => import('./roundtrip.ts'),
  spend: () => import('./spend.ts'),
  latency: () => import('./latency.ts'),
  cli: () => import('./cli.ts'),
  soak: () => import('./soak.ts'),
  results: () => import('./results.ts'),
  store: () => import('./store.ts'),
  storescale: () => import('./store-scale.ts'),
  federated: () => import('./federated.ts'),
};

const chosen = (process.env.BENCH ?? Object.keys(ALL).join(',')).split(',').filter((k) => k in ALL);
const sections: BenchSection[] = [];
for (const name of chosen) {
  process.stderr.write(`bench: ${name}…\n`);
  const mod = await (ALL[name] as () => Promise<{ run: () => Promise<BenchSection> }>)();
  const section = await mod.run();
  process.stderr.write(`${section.markdown}\n\n`);
  sections.push(section);
}
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const measured = `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}.`;
const header = [
  '# Benchmarks',
  '',
  'Written by `npm run bench`; each figure sits beside its peer from the same run. Each section',
  'says when and on what it was measured: `BENCH=…` reruns only some sections.',
  '',
  '',
].join('\n');
// The date lives in each section, not the header: a subset run must not re-date the others.
const stamped = (s: BenchSection) => `## ${s.title}\n\n${measured}\n\n${s.markdown}\n`;
// A subset run (BENCH=…) replaces only its own sections and keeps the others' last figures.
const previous =
  existsSync('BENCHMARKS.md') && process.env.BENCH ? readFileSync('BENCHMARKS.md', 'utf8') : '';
// Each rerun section takes its old place, so the file's order stays stable; new ones go last.
const blocks = previous
  .split(/^(?=## )/m)
  .slice(1)
  .map((block) => block.trimEnd());
const fresh = new Map(sections.map((s) => [s.title, stamped(s)]));
const merged = blocks.map((block) => {
  const title = block.slice(3, block.indexOf('\n'));
  const replacement = fresh.get(title);
  fresh.delete(title);
  return replacement ?? `${block}\n`;
});
writeFileSync('BENCHMARKS.md', `${header}${[...merged, ...fresh.values()].join('\n')}`);
process.stderr.write('bench: wrote BENCHMARKS.md\n');
