/**
 * Serves a chopsticks Blockchain over WebSocket (and HTTP) JSON-RPC with chopsticks' own
 * `createServer` and RPC `handler`, with three corrections:
 *
 * - `createServer` silently moves to the next port when the requested one is taken; we
 *   refuse instead ('chain_port_in_use').
 * - its `close()` leaves upgraded WebSocket connections open (Node's closeAllConnections
 *   does not track upgraded sockets), so clients kept submitting to a closed chain. We
 *   capture the http.Server it creates, track its sockets, destroy them on close, and refuse
 *   every request once closing has begun.
 * - chopsticks' `dev_*` RPCs (set storage, build blocks, move the head) are refused unless
 *   `devRpc` is set: they would let any local process rewrite anchored history.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Blockchain } from '@acala-network/chopsticks-core';
import { handler as rpcHandler } from '@acala-network/chopsticks/rpc/index';
import { createServer } from '@acala-network/chopsticks/server';
import { ObscuraError } from '../common/errors.ts';

/** A running RPC server. */
export interface ChainRpcServer {
  /** The port actually bound. */
  port: number;
  /** Refuses further requests, drops every connection and stops listening. Idempotent. */
  close(): Promise<void>;
}

/** Serves `chain` on host:port (0 = any free port). Throws 'chain_port_in_use' (409) naming the port. */
export async function serveChain(
  chain: Blockchain,
  opts: { port: number; host: string; devRpc: boolean },
): Promise<ChainRpcServer> {
  const { port, host, devRpc } = opts;
  const base = rpcHandler({ chain });
  let closing = false;
  const handler: typeof base = async (req, subs) => {
    if (closing) throw new Error('the embedded chain is shutting down');
    if (!devRpc && req.method.startsWith('dev_')) {
      throw new Error(`Method not found: ${req.method} (dev RPCs are disabled on the embedded chain)`);
    }
    return base(req, subs);
  };

  // chopsticks' createServer calls http.createServer synchronously, before its first await;
  // swap it for that one synchronous stretch to get hold of the server it makes.
  const realCreate = http.createServer;
  let captured: http.Server | undefined;
  http.createServer = ((...args: Parameters<typeof http.createServer>) => {
    captured = realCreate(...args);
    return captured;
  }) as typeof http.createServer;
  let started: ReturnType<typeof createServer>;
  try {
    started = createServer(handler, port, host);
  } finally {
    http.createServer = realCreate;
  }
  const sockets = new Set<Socket>();
  captured?.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const server = await started;

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      await server.close();
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    })();
    return closed;
  };
  if (port !== 0 && server.port !== port) {
    await close();
    throw new ObscuraError('chain_port_in_use', `port ${port} on ${host} is already in use`, 409, {
      port,
      host,
    });
  }
  if (!captured) {
    // chopsticks changed how it creates its server: still serve, but say connections may linger.
    process.emitWarning('obscura chain: could not track RPC connections; open WebSockets survive close()');
  }
  return { port: server.port, close };
}
