/**
 * Parsing pipeline documents (YAML and JSON), errors that name the document path, and the
 * canonical hash: equal for YAML, JSON and any key order, different for any change.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parsePipeline, pipelineHash } from '../../src/pipelines/index.ts';
import { COST_BY_REGION, caughtSync, PIPELINES_MD_EXAMPLE } from './fixtures.ts';

// biome-ignore lint/suspicious/noExplicitAny: tests edit documents freely, including into invalid shapes
type Loose = any;

const base = () => parsePipeline(COST_BY_REGION);

describe('parsePipeline', () => {
  it('accepts the sample pipeline and the pipelines.md example', () => {
    const doc = base();
    expect(doc.name).toBe('cost-by-region');
    expect(doc.steps.map((s) => s.id)).toEqual(['adults', 'by_region']);
    expect(doc.outputs).toEqual({ by_region: { min_group_size: 10 } });
    const md = parsePipeline(PIPELINES_MD_EXAMPLE);
    expect(md.steps.map((s) => s.id)).toEqual(['adults', 'with_labs', 'derived', 'by_region', 'risk_model']);
  });

  it('accepts JSON', () => {
    const doc = parsePipeline(JSON.stringify(base()));
    expect(doc).toEqual(base());
  });

  const cases: [string, (d: Record<string, unknown>) => void, string][] = [
    [
      'a typo in a measure option',
      (d) => ((d.steps as Loose)[1].aggregate.measures.mean_cost.bonds = [0, 1]),
      'steps[1].aggregate.measures.mean_cost.bonds',
    ],
    [
      'a measure with two kinds',
      (d) => ((d.steps as Loose)[1].aggregate.measures.mean_cost.sum = 'cost'),
      'steps[1].aggregate.measures.mean_cost',
    ],
    [
      'a measure with no kind',
      (d) => ((d.steps as Loose)[1].aggregate.measures.mean_cost = { bounds: [0, 1] }),
      'steps[1].aggregate.measures.mean_cost',
    ],
    [
      'reversed bounds',
      (d) => ((d.steps as Loose)[1].aggregate.measures.mean_cost.bounds = [5, 1]),
      'steps[1].aggregate.measures.mean_cost.bounds',
    ],
    [
      'a bad measure name',
      (d) => ((d.steps as Loose)[1].aggregate.measures['mean cost'] = { count: '*' }),
      'steps[1].aggregate.measures["mean cost"]',
    ],
    ['an unknown step kind', (d) => ((d.steps as Loose)[0] = { id: 'x', window: {} }), 'steps[0].window'],
    [
      'a step with two kinds',
      (d) => ((d.steps as Loose)[0].aggregate = { from: 'visits', measures: { n: { count: '*' } } }),
      'steps[0]',
    ],
    ['an empty where', (d) => ((d.steps as Loose)[0].filter.where = ''), 'steps[0].filter.where'],
    ['a wrong version', (d) => (d.obscura = 2), 'obscura'],
    ['a missing name', (d) => delete d.name, 'name'],
    [
      'an unknown column type',
      (d) => ((d.inputs as Loose).visits.columns.age = 'integer'),
      'inputs.visits.columns.age',
    ],
    [
      'a bad min_group_size',
      (d) => ((d.outputs as Loose).by_region.min_group_size = 0),
      'outputs.by_region.min_group_size',
    ],
    ['no steps', (d) => (d.steps = []), 'steps'],
  ];
  for (const [what, mutate, path] of cases) {
    it(`refuses ${what}, naming ${path}`, () => {
      const doc = structuredClone(base()) as unknown as Record<string, unknown>;
      mutate(doc);
      const e = caughtSync(() => parsePipeline(JSON.stringify(doc)), 'pipeline_invalid');
      expect(e.status).toBe(400);
      expect(e.details?.path).toBe(path);
      expect(e.message).toContain(path);
    });
  }

  it('refuses malformed YAML with its position, duplicate keys and non-objects', () => {
    const e = caughtSync(() => parsePipeline('obscura: 1\nname: [unclosed\n'), 'pipeline_invalid');
    expect(e.details?.line).toBeTypeOf('number');
    caughtSync(() => parsePipeline('obscura: 1\nobscura: 1\n'), 'pipeline_invalid');
    caughtSync(() => parsePipeline('{"obscura": 1, "obscura": 1}'), 'pipeline_invalid');
    expect(caughtSync(() => parsePipeline('- 1\n- 2\n'), 'pipeline_invalid').details?.path).toBe('');
    caughtSync(() => parsePipeline('x'.repeat(1_000_001)), 'pipeline_invalid');
  });
});

describe('parsePipeline suggests the key meant by an unknown one', () => {
  const typo = (edit: (text: string) => string) =>
    caughtSync(() => parsePipeline(edit(COST_BY_REGION)), 'pipeline_invalid').message;
  it.each([
    [
      'a top-level key, even a required one',
      'steps:',
      'stpes:',
      'at stpes: unknown key (did you mean steps?)',
    ],
    ['a step kind', 'aggregate:', 'aggregat:', 'aggregat: unknown key (did you mean aggregate?)'],
    ['an output rule', 'min_group_size', 'min_grup_size', 'unknown key (did you mean min_group_size?)'],
  ])('%s', (_what, from, to, expected) => {
    expect(typo((t) => t.replace(from, to))).toContain(expected);
  });

  it('each of several unknown keys', () => {
    expect(typo((t) => t.replace('name:', 'nmae:').replace('obscura:', 'obscure: 1\nobscura:'))).toMatch(
      /unknown keys (nmae \(did you mean name\?\), obscure \(did you mean obscura\?\)|obscure \(did you mean obscura\?\), nmae \(did you mean name\?\))/,
    );
  });

  it('nothing where no key is close', () => {
    expect(typo((t) => t.replace('obscura:', 'zzzzzzzz: 1\nobscura:'))).toMatch(/unknown key$/);
  });
});

describe('pipelineHash', () => {
  it('is the same for YAML, JSON, reordered keys and comments', () => {
    const yamlHash = pipelineHash(base());
    expect(yamlHash).toMatch(/^[0-9a-f]{64}$/);
    expect(pipelineHash(parsePipeline(JSON.stringify(base(), null, 2)))).toBe(yamlHash);
    const reordered = `# the same pipeline, keys in another order
outputs: { by_region: { min_group_size: 10 } }
steps:
  - filter: { where: "age >= 18", from: visits }
    id: adults
  - aggregate:
      measures:
        max_cost:   { max: cost }
        mean_cost:  { mean: cost }
        total_cost: { sum: cost }
        patients:   { count: "*" }
      group_by: [region]
      from: adults
    id: by_region
inputs:
  visits: { columns: { cost: float64, age: int32, region: string, patient_id: string } }
description: Number of adult visits, total, mean and largest cost per region.
name: cost-by-region
obscura: 1
`;
    expect(pipelineHash(parsePipeline(reordered))).toBe(yamlHash);
  });

  it('is unchanged by any key order and changed by any value', () => {
    const shuffle = (v: unknown, r: () => number): unknown => {
      if (Array.isArray(v)) return v.map((x) => shuffle(x, r));
      if (v && typeof v === 'object') {
        const entries = Object.entries(v).map(([k, x]) => [k, shuffle(x, r)] as const);
        entries.sort(() => r() - 0.5);
        return Object.fromEntries(entries);
      }
      return v;
    };
    const doc = parsePipeline(COST_BY_REGION);
    const h = pipelineHash(doc);
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        let s = seed;
        const r = () => {
          s = (s * 1103515245 + 12345) & 0x7fffffff;
          return s / 0x7fffffff;
        };
        const text = seed % 2 ? JSON.stringify(shuffle(doc, r)) : stringify(shuffle(doc, r));
        expect(pipelineHash(parsePipeline(text))).toBe(h);
      }),
      { numRuns: 50 },
    );
    const changed = structuredClone(doc);
    (changed.outputs.by_region as { min_group_size: number }).min_group_size = 11;
    expect(pipelineHash(changed)).not.toBe(h);
    const where = structuredClone(doc);
    (where.steps[0] as { filter: { where: string } }).filter.where = 'age >= 19';
    expect(pipelineHash(where)).not.toBe(h);
  });
});
