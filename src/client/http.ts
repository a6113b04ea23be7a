/**
 * One HTTP request with node:http(s), its answer read whole as text: how the client sends
 * every request but a FormData upload. Not fetch, for two measured reasons: the first
 * fetch in a process loads and compiles Node's bundled undici and its WebAssembly HTTP
 * parser (~30 CPU-ms, a tenth of a short `obscura result`; node:http parses in C++), and
 * Node 20's fetch buffers a streamed request body whole (~510 MB resident for a 400 MB
 * upload, 122 MB through node:http, which honours backpressure).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** An answer: status, reason phrase and the body as UTF-8 text. */
export interface HttpAnswer {
  status: number;
  statusText: string;
  text: string;
}

/**
 * Send a request and read its answer. A string body is sent as it is, a streamed one a chunk
 * at a time; if the server answers before the body is sent (a refused upload), the rest is
 * not sent and the answer is returned. Rejects only when no answer came (connection refused,
 * reset).
 */
export async function sendHttp(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body?: string | AsyncIterable<Uint8Array>,
): Promise<HttpAnswer> {
  const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers });
  const answered = new Promise<HttpAnswer>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.once('error', reject);
      res.once('end', () =>
        resolve({
          status: res.statusCode ?? 500,
          statusText: res.statusMessage ?? '',
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
  });
  if (body === undefined || typeof body === 'string') {
    req.end(body);
    return answered;
  }
  const sent = pipeline(Readable.from(body), req).catch(() => undefined);
  try {
    return await answered;
  } finally {
    req.destroy();
    await sent;
  }
}
