/** `hello`: what the enclave says about itself (worker, TEE, measurement, keys, limits). */
import { handler } from './handler.ts';

export const hello = handler('hello', async (_req, cx) => cx.hello());
