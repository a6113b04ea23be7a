/**
 * Serves a chopsticks Blockchain over WebSocket JSON-RPC (and plain HTTP POST), with
 * chopsticks-core's RPC handlers. The server is ours rather than the chopsticks CLI
 * package's `createServer`: that package brings chopsticks-db, whose second SQLite build
 * (sqlite3, via typeorm) was most of an install's time, and its server needed three
 * corrections that are simply how this one works:
 *
 * - a port in use is refused ('chain_port_in_use'), never silently replaced by the next one;
 * - `close()` drops every connection, upgraded WebSockets included (so clients learn at once
 *   that the chain is gone), and every request is refused once closing has begun;
 * - chopsticks' `dev_*` RPCs (set storage, build blocks, move the head) are refused unless
 *   `devRpc` is set: they would let any local process rewrite anchored history.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import {
  allHandlers,
  type Blockchain,
  ResponseError,
  type SubscriptionManager,
} from '@acala-network/chopsticks-core';
import { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { ObscuraError, errorMessage } from '../../common/errors.ts';

/** A running RPC server. */
export interface ChainRpcServer {
  /** The port actually bound. */
  port: number;
  /** Refuses further requests, drops every connection and stops listening. Idempotent. */
  close(): Promise<void>;
}

const RequestSchema = z.object({
  id: z.union([z.number().int(), z.string(), z.null()]).optional(),
  jsonrpc: z.literal('2.0'),
  method: z.string(),
  params: z.array(z.unknown()).default([]),
});
const BodySchema = z.union([RequestSchema, z.array(RequestSchema)]);
type RpcRequest = z.infer<typeof RequestSchema>;

/** Largest JSON-RPC message accepted, as chopsticks' server (a runtime upgrade is ~1.2 MB). */
const MAX_PAYLOAD = 100 << 20;

function parseBody(text: string): z.infer<typeof BodySchema> | undefined {
  try {
    const parsed = BodySchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The error a failed listen on host:port reports: 'chain_port_in_use' (409) names the port taken. */
export function listenError(e: NodeJS.ErrnoException, port: number, host: string): ObscuraError {
  if (e.code === 'EADDRINUSE')
    return new ObscuraError('chain_port_in_use', `port ${port} on ${host} is already in use`, 409, {
      port,
      host,
    });
  return new ObscuraError('chain_start_failed', `cannot listen on ${host}:${port}: ${e.message}`, 500, {
    port,
    host,
  });
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(listenError(e, port, host)));
    server.listen({ port, host, exclusive: true }, () => resolve());
  });
}

/** Serves `chain` on host:port (0 = any free port). Throws 'chain_port_in_use' (409) naming the port. */
export async function serveChain(
  chain: Blockchain,
  opts: {
    port: number;
    host: string;
    devRpc: boolean;
    /** Methods of our own (e.g. the faucet, `obscura_fund`), answered before chopsticks' handlers. */
    extra?: Record<string, (params: unknown[]) => Promise<unknown>>;
  },
): Promise<ChainRpcServer> {
  const { port, host, devRpc } = opts;
  let closing = false;

  /** The response to one request (an error object for a refused or failed one). */
  const answer = async (req: RpcRequest, subs: SubscriptionManager) => {
    try {
      if (closing) throw new ResponseError(-32000, 'the embedded chain is shutting down');
      const own = opts.extra?.[req.method];
      if (own) return { id: req.id ?? null, jsonrpc: '2.0', result: (await own(req.params)) ?? null };
      const handler = allHandlers[req.method];
      if (!handler || (!devRpc && req.method.startsWith('dev_'))) {
        const why = handler ? ' (dev RPCs are disabled on the embedded chain)' : '';
        throw new ResponseError(-32601, `Method not found: ${req.method}${why}`);
      }
      const result: unknown = await handler({ chain }, req.params, subs);
      return { id: req.id ?? null, jsonrpc: '2.0', result: result ?? null };
    } catch (e) {
      const error =
        e instanceof ResponseError ? e.toJSON() : { code: -32603, message: `Internal ${errorMessage(e)}` };
      return { id: req.id ?? null, jsonrpc: '2.0', error };
    }
  };
  const noSubscriptions: SubscriptionManager = {
    subscribe: () => {
      throw new ResponseError(-32601, 'subscriptions need a WebSocket');
    },
    unsubscribe: () => {
      throw new ResponseError(-32601, 'subscriptions need a WebSocket');
    },
  };

  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { Allow: 'POST' }).end();
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PAYLOAD) req.destroy();
      else parts.push(chunk);
    });
    req.on('end', async () => {
      const body = parseBody(Buffer.concat(parts).toString());
      const out = !body
        ? { id: null, jsonrpc: '2.0', error: { code: -32600, message: 'Invalid JSON Request' } }
        : Array.isArray(body)
          ? await Promise.all(body.map((r) => answer(r, noSubscriptions)))
          : await answer(body, noSubscriptions);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(out));
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await listen(server, port, host);

  const wss = new WebSocketServer({ server, maxPayload: MAX_PAYLOAD });
  wss.on('connection', (ws) => {
    const send = (data: unknown) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(data));
    };
    const subscriptions = new Map<string, (subid: string) => void>();
    const subs: SubscriptionManager = {
      subscribe: (method, subid, onCancel = () => {}) => {
        subscriptions.set(subid, onCancel);
        return (result: unknown) => {
          if (subscriptions.has(subid))
            send({ jsonrpc: '2.0', method, params: { result, subscription: subid } });
        };
      },
      unsubscribe: (subid) => {
        subscriptions.get(subid)?.(subid);
        subscriptions.delete(subid);
      },
    };
    const cancelAll = () => {
      for (const [subid, onCancel] of subscriptions) onCancel(subid);
      subscriptions.clear();
      ws.removeAllListeners();
    };
    ws.on('close', cancelAll);
    ws.on('error', cancelAll);
    ws.on('message', async (message: Buffer) => {
      const body = parseBody(message.toString());
      if (!body) send({ id: null, jsonrpc: '2.0', error: { code: -32600, message: 'Invalid JSON Request' } });
      else if (Array.isArray(body)) send(await Promise.all(body.map((r) => answer(r, subs))));
      else send(await answer(body, subs));
    });
  });

  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await stopped;
    })();
    return closed;
  };
  return { port: bound, close };
}
