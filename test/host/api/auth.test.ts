import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestSigningBytes } from '../../../src/contracts/request-signing.ts';
import { authenticate } from '../../../src/host/api/auth.ts';
import { problemHandler } from '../../../src/host/api/problem.ts';
import { type AccountKey, accountKeyFromSuri } from '../../../src/crypto/index.ts';
import { openDb, ReplayStore } from '../../../src/host/store/index.ts';

let base: string;
let close: () => void;
let alice: AccountKey;

beforeAll(async () => {
  alice = await accountKeyFromSuri('//Alice');
  const app = express();
  app.use(
    express.json({
      verify: (req, _res, buf) =>
        ((req as express.Request).bodySha256 = createHash('sha256').update(buf).digest('hex')),
    }),
  );
  const replay = new ReplayStore(openDb(':memory:'));
  app.post('/signed', authenticate({ replay }), (req, res) => void res.json({ account: req.account }));
  app.post(
    '/optional',
    authenticate({ replay, optional: true }),
    (req, res) => void res.json({ account: req.account ?? null }),
  );
  app.post(
    '/upload',
    authenticate({ replay, allowUnsignedPayload: true }),
    (req, res) => void res.json({ account: req.account }),
  );
  app.use(problemHandler(() => {}));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => server.close();
});
afterAll(() => close());

function headers(
  path: string,
  body: string,
  opts: { ts?: number; key?: AccountKey; bodyHash?: string } = {},
) {
  const ts = String(opts.ts ?? Date.now());
  const hash = opts.bodyHash ?? createHash('sha256').update(body).digest('hex');
  const key = opts.key ?? alice;
  return {
    'content-type': 'application/json',
    'obscura-account': alice.address,
    'obscura-timestamp': ts,
    'obscura-signature': key.sign(requestSigningBytes('POST', path, ts, hash)),
    ...(opts.bodyHash === 'UNSIGNED-PAYLOAD' ? { 'obscura-body-sha256': 'UNSIGNED-PAYLOAD' } : {}),
  };
}

async function post(path: string, body: string, h: Record<string, string>) {
  const res = await fetch(base + path, { method: 'POST', body, headers: h });
  return { status: res.status, body: (await res.json()) as { code?: string; account?: string } };
}

describe('request authentication', () => {
  it('accepts a request signed by the account it names', async () => {
    const body = '{"x":1}';
    expect(await post('/signed', body, headers('/signed', body))).toEqual({
      status: 200,
      body: { account: alice.address },
    });
  });

  it('refuses a body other than the one signed', async () => {
    expect((await post('/signed', '{"x":2}', headers('/signed', '{"x":1}'))).body.code).toBe(
      'signature_invalid',
    );
  });

  it('refuses a signature by another key', async () => {
    const bob = await accountKeyFromSuri('//Bob');
    expect((await post('/signed', '{}', headers('/signed', '{}', { key: bob }))).body.code).toBe(
      'signature_invalid',
    );
  });

  it('refuses stale timestamps and replays', async () => {
    expect(
      (await post('/signed', '{}', headers('/signed', '{}', { ts: Date.now() - 10 * 60_000 }))).body.code,
    ).toBe('request_expired');
    const h = headers('/signed', '{}');
    expect((await post('/signed', '{}', h)).status).toBe(200);
    expect((await post('/signed', '{}', h)).body.code).toBe('request_replayed');
  });

  it('accepts UNSIGNED-PAYLOAD only where the route allows it', async () => {
    expect(
      (await post('/upload', '{}', headers('/upload', '{}', { bodyHash: 'UNSIGNED-PAYLOAD' }))).status,
    ).toBe(200);
    expect(
      (await post('/signed', '{}', headers('/signed', '{}', { bodyHash: 'UNSIGNED-PAYLOAD' }))).body.code,
    ).toBe('signature_invalid');
  });

  it('refuses a replay whose signature differs only in hex case', async () => {
    const h = headers('/signed', '{}');
    expect((await post('/signed', '{}', h)).status).toBe(200);
    const flipped = {
      ...h,
      'obscura-signature': h['obscura-signature'].replace(/[a-f]/, (c) => c.toUpperCase()),
    };
    expect(flipped['obscura-signature']).not.toBe(h['obscura-signature']);
    expect((await post('/signed', '{}', flipped)).body.code).toBe('request_replayed');
  });

  it('passes an unsigned request as anonymous only where signing is optional, and checks a partly signed one', async () => {
    expect(await post('/optional', '{}', { 'content-type': 'application/json' })).toEqual({
      status: 200,
      body: { account: null },
    });
    const h = headers('/optional', '{}');
    expect(
      (await post('/optional', '{}', { ...h, 'obscura-signature': `0x${'00'.repeat(64)}` })).body.code,
    ).toBe('signature_invalid');
    expect(
      (
        await post('/optional', '{}', {
          'content-type': 'application/json',
          'obscura-account': alice.address,
        })
      ).body.code,
    ).toBe('unauthenticated');
  });

  it('refuses requests with no signature headers with 401', async () => {
    const r = await post('/signed', '{}', { 'content-type': 'application/json' });
    expect(r).toMatchObject({ status: 401, body: { code: 'unauthenticated' } });
  });
});
