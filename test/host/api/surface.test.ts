/**
 * The API's surface as generators and clients see it: a wrong method gets 405 with `Allow`;
 * every list pages with `limit` and `cursor` and says where the next page starts; the OpenAPI
 * document names every operation, tags it, and refers to named component schemas only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../../src/host/api/openapi.ts';
import { EnclaveDouble, startTestApp, type TestApp } from '../../helpers/app.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({
    enclaves: [new EnclaveDouble('worker-1'), new EnclaveDouble('worker-2'), new EnclaveDouble('worker-3')],
  });
});
afterAll(async () => {
  await app?.close();
});

describe('methods', () => {
  it('answers a wrong method 405 with Allow, and an unknown path 404', async () => {
    const post = await fetch(`${app.url}/v1/health`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(((await post.json()) as { code: string }).code).toBe('method_not_allowed');
    const del = await fetch(`${app.url}/v1/datasets`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
    expect((await fetch(`${app.url}/v1/nothing`, { method: 'DELETE' })).status).toBe(404);
  });
});

describe('pages', () => {
  it('pages a list with limit and cursor, and refuses a bad one', async () => {
    type Page = { workers: { id: string }[]; next: string | null };
    const first = (await (await fetch(`${app.url}/v1/workers?limit=2`)).json()) as Page;
    expect(first.workers.map((w) => w.id)).toEqual(['worker-1', 'worker-2']);
    expect(first.next).toEqual(expect.any(String));
    const second = (await (await fetch(`${app.url}/v1/workers?limit=2&cursor=${first.next}`)).json()) as Page;
    expect(second).toEqual({ workers: [expect.objectContaining({ id: 'worker-3' })], next: null });
    const all = (await (await fetch(`${app.url}/v1/workers`)).json()) as Page;
    expect(all.workers).toHaveLength(3);
    expect(all.next).toBeNull();
    for (const q of ['limit=0', 'limit=501', 'limit=x', 'cursor=bm9wZQ']) {
      const res = await fetch(`${app.url}/v1/workers?${q}`);
      expect(res.status, q).toBe(400);
    }
    expect((await fetch(`${app.url}/v1/jobs?status=done`)).status).toBe(400);
    expect(await (await fetch(`${app.url}/v1/jobs?status=queued`)).json()).toEqual({ jobs: [], next: null });
  });
});

describe('the OpenAPI document', () => {
  it('names and tags every operation and refers only to named components', async () => {
    type Op = {
      operationId: string;
      tags: string[];
      security: unknown[];
      parameters?: { name: string }[];
    };
    const doc = (await (await fetch(`${app.url}/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Op>>;
      tags: { name: string }[];
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { name: string }> };
    };
    const ops = Object.values(doc.paths).flatMap((p) => Object.values(p));
    expect(ops).toHaveLength(ROUTES.length);
    const ids = ops.map((o) => o.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const tags = new Set(doc.tags.map((t) => t.name));
    for (const o of ops)
      expect(
        o.tags.every((t) => tags.has(t)),
        o.operationId,
      ).toBe(true);
    // Every $ref points at a component that exists.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map(
      (m) => m[1],
    );
    expect(refs.length).toBeGreaterThan(ROUTES.length);
    for (const r of refs) expect(doc.components.schemas, r).toHaveProperty(r as string);
    expect(doc.components.schemas).toHaveProperty('JobRecord');
    // The signature is three headers, documented together.
    expect(Object.values(doc.components.securitySchemes).map((s) => s.name)).toEqual([
      'obscura-account',
      'obscura-timestamp',
      'obscura-signature',
    ]);
    expect(doc.paths['/v1/health']?.get?.security).toEqual([]);
    for (const [path, item] of Object.entries(doc.paths)) {
      const get = item.get;
      const isList = ROUTES.some(
        (r) => r.path === path && r.method === 'get' && r.operationId.startsWith('list'),
      );
      if (get && isList)
        expect(
          get.parameters?.map((p) => p.name),
          path,
        ).toEqual(expect.arrayContaining(['limit', 'cursor']));
    }
  });
});
