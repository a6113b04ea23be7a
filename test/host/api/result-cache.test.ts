/** Serialised results: the ETag names the bytes, If-None-Match matching follows RFC 9110, the cache stays in budget. */
import { describe, expect, it } from 'vitest';
import { etagMatches, jsonBody, ResultBodyCache } from '../../../src/host/api/result-cache.ts';

describe('result bodies', () => {
  it('sends what res.json sent, tagged by its bytes', () => {
    const doc = { id: 'r1', n: 357102.32, nested: { a: [1, 2] } };
    const { body, etag } = jsonBody(doc);
    expect(body.toString()).toBe(JSON.stringify(doc));
    expect(jsonBody({ ...doc }).etag).toBe(etag);
    expect(jsonBody({ ...doc, n: 1 }).etag).not.toBe(etag);
  });

  it('matches If-None-Match lists, weak tags and *', () => {
    const etag = '"abc"';
    expect(etagMatches('"abc"', etag)).toBe(true);
    expect(etagMatches('W/"abc"', etag)).toBe(true);
    expect(etagMatches('"x", "abc"', etag)).toBe(true);
    expect(etagMatches('*', etag)).toBe(true);
    expect(etagMatches('"abcd"', etag)).toBe(false);
    expect(etagMatches(undefined, etag)).toBe(false);
  });

  it('loads each result once and evicts the least recently used beyond its budget', () => {
    const cache = new ResultBodyCache(100);
    let loads = 0;
    const load = (n: number) => () => {
      loads++;
      return { pad: 'x'.repeat(n) };
    };
    cache.get('a', load(30));
    cache.get('a', load(30));
    expect(loads).toBe(1);
    cache.get('b', load(30));
    cache.get('a', load(30)); // a is now the most recent
    cache.get('c', load(30)); // over budget: b goes
    expect(loads).toBe(3);
    cache.get('a', load(30));
    expect(loads).toBe(3);
    cache.get('b', load(30));
    expect(loads).toBe(4);
    // Larger than the whole budget: served, not kept.
    cache.get('big', load(500));
    cache.get('big', load(500));
    expect(loads).toBe(6);
  });
});
