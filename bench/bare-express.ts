/**
 * The peer for the result-serving benchmark, run as its own process: a bare express app
 * that answers `GET /r` with the bytes of the file given, as JSON, and nothing else (no
 * access rules, no metrics, no store). Prints `URL http://…/r` once it listens.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import express from 'express';

const body = readFileSync(process.argv[2] as string);
const app = express();
app.get('/r', (_req, res) => {
  res.type('application/json').send(body);
});
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`URL http://127.0.0.1:${(server.address() as AddressInfo).port}/r\n`);
});
