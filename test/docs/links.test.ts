/**
 * The README and docs/ must be self-contained: a clone has nothing beside it, so every link
 * must name a file inside the repository (or an anchor), never a sibling folder or a web page.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(ROOT, 'docs', f));
  return [join(ROOT, 'README.md'), ...docs];
}

/** Link targets of inline markdown links, fenced code blocks left out. */
function linkTargets(text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
}

describe('documentation links', () => {
  for (const file of markdownFiles()) {
    it(`${relative(ROOT, file)} links only inside the repository`, () => {
      const outside: string[] = [];
      for (const target of linkTargets(readFileSync(file, 'utf8'))) {
        if (target.startsWith('#')) continue;
        const path = resolve(dirname(file), target.split('#')[0] as string);
        const inside =
          !/^[a-z]+:/i.test(target) && !relative(ROOT, path).startsWith('..') && existsSync(path);
        if (!inside) outside.push(target);
      }
      expect(outside).toEqual([]);
    });
  }

  it('finds the links it checks', () => {
    expect(linkTargets('see [a](docs/a.md) and [b](https://x.test)\n```\n[c](d)\n```')).toEqual([
      'docs/a.md',
      'https://x.test',
    ]);
  });
});
