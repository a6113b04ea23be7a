/**
 * The messages between the host and its embedded chain's own process (process.ts starts it,
 * process-main.ts is its entry). Both sides validate what they receive.
 */
import { z } from 'zod';

/** Host → chain process: start with these options, or close. */
export const ChainProcessRequestSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('start'),
    options: z.strictObject({
      dataDir: z.string().min(1),
      port: z.number().int().min(0).max(65535).optional(),
      host: z.string().min(1).optional(),
      name: z.string().min(1).optional(),
      fundAccounts: z.array(z.string()).optional(),
      devRpc: z.boolean().optional(),
    }),
  }),
  z.strictObject({ type: z.literal('close') }),
]);
export type ChainProcessRequest = z.infer<typeof ChainProcessRequestSchema>;

/** Chain process → host: serving at `endpoint`, failed to start (an ObscuraError's parts), or closed. */
export const ChainProcessReplySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready'), endpoint: z.string().min(1) }),
  z.strictObject({
    type: z.literal('failed'),
    code: z.string().min(1),
    message: z.string(),
    status: z.number().int(),
  }),
  z.strictObject({ type: z.literal('closed') }),
]);
export type ChainProcessReply = z.infer<typeof ChainProcessReplySchema>;
