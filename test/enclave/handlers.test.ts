/**
 * One handler per enclave message: the handler map and the protocol are one list (the
 * compiler checks the types; this checks the values), and the dispatcher answers a request
 * that matches no handler's schema with a data-free refusal, without running anything.
 */
import { describe, expect, it } from 'vitest';
import { HostRequestSchema, RequestSchemas } from '../../src/contracts/enclave-protocol.ts';
import type { EnclaveContext } from '../../src/enclave/context.ts';
import { dispatch, HANDLERS } from '../../src/enclave/handlers/index.ts';

/** A context that records what the enclave sends; a refused request must touch nothing else. */
function recorder(): { cx: EnclaveContext; sent: unknown[] } {
  const sent: unknown[] = [];
  const cx = { send: (m: unknown) => sent.push(m) } as unknown as EnclaveContext;
  return { cx, sent };
}

describe('enclave message handlers', () => {
  it('has exactly one handler per protocol message, validating with the protocol schema', () => {
    expect(Object.keys(HANDLERS).sort()).toEqual(Object.keys(RequestSchemas).sort());
    for (const [type, h] of Object.entries(HANDLERS))
      expect(h.schema, type).toBe(RequestSchemas[type as keyof typeof RequestSchemas]);
    expect(HostRequestSchema.options).toHaveLength(Object.keys(RequestSchemas).length);
  });

  it.each([
    ['an unknown type', { id: 7, type: 'dump_keys' }],
    ['a type from the object prototype', { id: 7, type: 'constructor' }],
    ['a malformed request', { id: 7, type: 'attest', nonce: 'not hex' }],
    ['no type at all', { id: 7 }],
  ])('refuses %s with enclave_bad_request', async (_what, raw) => {
    const { cx, sent } = recorder();
    await dispatch(raw, cx);
    expect(sent).toEqual([
      {
        type: 'response',
        id: 7,
        ok: false,
        error: {
          code: 'enclave_bad_request',
          message: 'request does not match the enclave protocol',
          status: 400,
        },
      },
    ]);
  });

  it('answers a request without a numeric id with id -1', async () => {
    const { cx, sent } = recorder();
    await dispatch('hello', cx);
    expect(sent).toMatchObject([{ type: 'response', id: -1, ok: false }]);
  });
});
