/**
 * A small HTTP load generator, run as its own process by the serving benchmarks (so its CPU
 * is not the server's): `node --import tsx bench/http-load.ts URL CONNECTIONS SECONDS [ETAG]`
 * keeps CONNECTIONS keep-alive requests in flight for SECONDS and prints one JSON line:
 * requests, non-200/304 answers, requests a second and latency percentiles in ms. With
 * ETAG, every request sends `If-None-Match: ETAG`.
 */
import { Agent, request } from 'node:http';

const [url = '', connections = '64', seconds = '5', etag] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: Number(connections) });
const latencies: number[] = [];
let bad = 0;
const until = performance.now() + Number(seconds) * 1000;

function once(): Promise<void> {
  return new Promise((resolve) => {
    const start = performance.now();
    const req = request(url, { agent, headers: etag ? { 'if-none-match': etag } : {} }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => {
        if (res.statusCode !== 200 && res.statusCode !== 304) bad++;
        latencies.push(performance.now() - start);
        resolve();
      });
    });
    req.on('error', () => {
      bad++;
      resolve();
    });
    req.end();
  });
}

async function loop(): Promise<void> {
  while (performance.now() < until) await once();
}

const began = performance.now();
await Promise.all(Array.from({ length: Number(connections) }, loop));
const elapsed = (performance.now() - began) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
process.stdout.write(
  `${JSON.stringify({ requests: latencies.length, bad, perSecond: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99) })}\n`,
);
agent.destroy();
