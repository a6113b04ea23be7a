/** Per-account upload limits: uploads in flight, the room left under the storage quota, and slots given back once. */
import { describe, expect, it } from 'vitest';
import { UploadGate } from '../../../src/host/api/uploads.ts';

const limits = { inFlightPerAccount: 2, bytesPerAccount: 1000, idleTimeoutMs: 1000 };

describe('UploadGate', () => {
  it('bounds uploads in flight per account, and gives a slot back once', () => {
    const gate = new UploadGate(limits);
    const a = gate.begin('A', 0, 5000);
    gate.begin('A', 0, 5000);
    expect(() => gate.begin('A', 0, 5000)).toThrow(
      expect.objectContaining({ code: 'upload_limit_exceeded', status: 429 }),
    );
    expect(gate.begin('B', 0, 5000).maxBytes).toBe(1000); // another account is not held to A's count
    a.release();
    a.release(); // idempotent: one release frees one slot
    gate.begin('A', 0, 5000);
    expect(() => gate.begin('A', 0, 5000)).toThrow(
      expect.objectContaining({ code: 'upload_limit_exceeded' }),
    );
  });

  it('lets an upload stream only the room the quota leaves, and refuses with none left', () => {
    const gate = new UploadGate(limits);
    expect(gate.begin('A', 0, 300)).toMatchObject({ maxBytes: 300, quotaBound: false });
    expect(gate.begin('C', 800, 300)).toMatchObject({ maxBytes: 200, quotaBound: true });
    expect(() => gate.begin('D', 1000, 300)).toThrow(
      expect.objectContaining({ code: 'storage_quota_exceeded', status: 413 }),
    );
    expect(() => gate.assertFits(900, 101)).toThrow(
      expect.objectContaining({ code: 'storage_quota_exceeded' }),
    );
    expect(() => gate.assertFits(900, 100)).not.toThrow();
  });
});
