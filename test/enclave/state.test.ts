import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateState, readSealedState, sealedStatePath } from '../../src/enclave/state.ts';

const dir = mkdtempSync(join(tmpdir(), 'obscura-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secret = Buffer.alloc(32, 7);
const m1 = 'a'.repeat(64);
const m2 = 'b'.repeat(64);

describe('sealed enclave state', () => {
  it('survives a restart of the same code on the same platform', () => {
    const first = loadOrCreateState({
      stateDir: dir,
      workerId: 'w',
      platformSecret: secret,
      measurement: m1,
    });
    expect(first.restored).toBe(false);
    const again = loadOrCreateState({
      stateDir: dir,
      workerId: 'w',
      platformSecret: secret,
      measurement: m1,
    });
    expect(again.restored).toBe(true);
    expect(again.state).toEqual(first.state);
  });

  it('keeps the secret out of the file in the clear', () => {
    const { state } = loadOrCreateState({
      stateDir: dir,
      workerId: 'w',
      platformSecret: secret,
      measurement: m1,
    });
    const raw = readFileSync(sealedStatePath(dir, m1));
    expect(raw.includes(Buffer.from(state.ageIdentity))).toBe(false);
    expect(raw.includes(Buffer.from(state.signingSeed))).toBe(false);
  });

  it('cannot be unsealed by another measurement or another platform, nor after tampering', () => {
    loadOrCreateState({ stateDir: dir, workerId: 'w', platformSecret: secret, measurement: m1 });
    const path = sealedStatePath(dir, m1);
    expect(() => readSealedState(path, secret, m2)).toThrow(
      expect.objectContaining({ code: 'enclave_state_unsealable' }),
    );
    expect(() => readSealedState(path, Buffer.alloc(32, 8), m1)).toThrow(
      expect.objectContaining({ code: 'enclave_state_unsealable' }),
    );
    const raw = readFileSync(path);
    raw.writeUInt8(raw.readUInt8(raw.length - 1) ^ 1, raw.length - 1);
    const tampered = join(dir, 'tampered.sealed');
    writeFileSync(tampered, raw);
    expect(() => readSealedState(tampered, secret, m1)).toThrow(
      expect.objectContaining({ code: 'enclave_state_unsealable' }),
    );
  });

  it('gives new code (another measurement) a new identity, not the old one', () => {
    const old = loadOrCreateState({ stateDir: dir, workerId: 'w', platformSecret: secret, measurement: m1 });
    const next = loadOrCreateState({ stateDir: dir, workerId: 'w', platformSecret: secret, measurement: m2 });
    expect(next.restored).toBe(false);
    expect(next.state.ageIdentity).not.toBe(old.state.ageIdentity);
  });
});
