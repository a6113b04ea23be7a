/**
 * Streamed uploads: the multipart body built from a file on disk parses (busboy, as the API
 * parses uploads) to the same fields and bytes, reports progress, and a server that refuses
 * early gets its answer back to the client rather than a broken pipe.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import busboy from 'busboy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendHttp } from '../../src/client/http.ts';
import { multipartBody } from '../../src/client/multipart.ts';

const dir = mkdtempSync(join(tmpdir(), 'obscura-multipart-'));
const file = join(dir, 'x.sealed');
const bytes = randomBytes(3 * 1024 * 1024 + 17);
let server: Server;
let url: URL;

beforeAll(async () => {
  writeFileSync(file, bytes);
  server = createServer((req, res) => {
    if (req.url === '/refuse') {
      res.writeHead(413, { 'content-type': 'application/problem+json' }).end('{"code":"too_big"}');
      return;
    }
    const fields: Record<string, string> = {};
    const files: Record<string, { name: string; sha: string; size: number }> = {};
    const bb = busboy({ headers: req.headers });
    bb.on('field', (name, value) => {
      fields[name] = value;
    });
    bb.on('file', (name, stream, info) => {
      const h = createHash('sha256');
      let size = 0;
      stream.on('data', (d: Buffer) => {
        h.update(d);
        size += d.length;
      });
      stream.on('end', () => {
        files[name] = { name: info.filename ?? '', sha: h.digest('hex'), size };
      });
    });
    bb.on('close', () =>
      res.writeHead(201).end(JSON.stringify({ fields, files, length: req.headers['content-length'] })),
    );
    req.pipe(bb);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
});

afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('streamed multipart upload', () => {
  it('arrives as the same fields and file bytes, with its length and progress', async () => {
    const seen: number[] = [];
    const body = await multipartBody(
      [
        { name: 'manifest', value: '{"obscura":"manifest/1","é":"\\"q\\""}' },
        { name: 'sealed', path: file, filename: 'x "odd".sealed' },
      ],
      (done, total) => {
        expect(total).toBe(bytes.length);
        seen.push(done);
      },
    );
    const res = await sendHttp(
      url,
      'POST',
      { 'content-type': body.contentType, 'content-length': String(body.length) },
      body.body,
    );
    expect(res.status).toBe(201);
    const got = JSON.parse(res.text) as {
      fields: Record<string, string>;
      files: Record<string, { name: string; sha: string; size: number }>;
      length: string;
    };
    expect(got.fields.manifest).toBe('{"obscura":"manifest/1","é":"\\"q\\""}');
    expect(got.files.sealed).toMatchObject({
      sha: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length,
    });
    expect(Number(got.length)).toBe(body.length);
    expect(seen.at(-1)).toBe(bytes.length);
  });

  it("returns a server's early refusal as the answer", async () => {
    const body = await multipartBody([{ name: 'sealed', path: file, filename: 'x' }]);
    const res = await sendHttp(
      new URL('/refuse', url),
      'POST',
      { 'content-type': body.contentType },
      body.body,
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text)).toEqual({ code: 'too_big' });
  });

  it('fails before sending when the file is missing', async () => {
    await expect(
      multipartBody([{ name: 'sealed', path: join(dir, 'nope'), filename: 'n' }]),
    ).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
