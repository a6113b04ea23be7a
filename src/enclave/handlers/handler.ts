/**
 * The shape of an enclave message handler, in the style of chopsticks' RPC handlers: a map
 * from message type to its request schema and the function that answers it. The schema is
 * the protocol's own (src/contracts/enclave-protocol.ts: the host builds the requests, so
 * the format lives on the shared side), and the compiler holds the map to the protocol's
 * list: a message without a handler, or a handler for no message, does not build.
 */
import {
  type HostRequestType,
  type RequestOf,
  RequestSchemas,
  type ResponseValue,
} from '../../contracts/enclave-protocol.ts';
import type { EnclaveContext } from '../context.ts';

/** The handler of the message `T`. */
export interface Handler<T extends HostRequestType> {
  /** The request's schema: the dispatcher validates with it before `handle` runs. */
  readonly schema: (typeof RequestSchemas)[T];
  /** Answers a validated request; throws an ObscuraError (data-free) to refuse it. */
  handle(req: RequestOf<T>, cx: EnclaveContext): Promise<ResponseValue<T>>;
}

/** One handler per message of the protocol. */
export type Handlers = { readonly [T in HostRequestType]: Handler<T> };

/** The handler of `type`, with the protocol's schema for it. */
export function handler<T extends HostRequestType>(type: T, handle: Handler<T>['handle']): Handler<T> {
  return { schema: RequestSchemas[type], handle };
}
