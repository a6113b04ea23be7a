/**
 * Sealing a result's outputs to its readers (src/contracts/result-outputs.ts): every reader
 * opens them, nobody else does, the hashes bind the ciphertext and the plaintext, and the
 * plaintext hash cannot confirm a guessed aggregate.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../src/common/hash.ts';
import { accountKeyFromSuri } from '../../src/crypto/index.ts';
import type { OutputTable, ResultBody } from '../../src/contracts/result.ts';
import {
  openOutputs,
  outputsArePublic,
  releaseOutputs,
  resultReaders,
  sealOutputs,
} from '../../src/contracts/result-outputs.ts';

const analyst = await accountKeyFromSuri('//SealAnalyst');
const owner = await accountKeyFromSuri('//SealOwner');
const stranger = await accountKeyFromSuri('//SealStranger');
const table: OutputTable = {
  columns: [{ name: 'total', type: 'int64' }],
  rows: [[987654321]],
  suppressedGroups: 2,
  minGroupSize: 5,
};
const outputs = { totals: table };
const readers = resultReaders({ account: analyst.address, recipient: analyst.resultRecipient }, [
  { account: owner.address, recipient: owner.resultRecipient },
]);

function bodyWith(out: ResultBody['outputs']): ResultBody {
  return { outputs: out } as ResultBody;
}

describe('sealed result outputs', () => {
  it('open for the analyst and the owner, to the same tables', async () => {
    const { sealed, ciphertext } = await sealOutputs(outputs, readers);
    expect(sealed).toMatchObject({
      visibility: 'sealed',
      names: ['totals'],
      dp: [],
      ciphertextSha256: sha256Hex(ciphertext),
    });
    expect(await openOutputs(bodyWith(sealed), ciphertext, analyst)).toEqual(outputs);
    expect(await openOutputs(bodyWith(sealed), ciphertext, owner)).toEqual(outputs);
  });

  it('carry no value, row count or suppressed count in what the host sees', async () => {
    const { sealed, ciphertext } = await sealOutputs(outputs, readers);
    const seen = `${canonicalJson(sealed)}${ciphertext.toString('latin1')}${ciphertext.toString('base64')}`;
    expect(seen).not.toContain('987654321');
    expect(canonicalJson(sealed)).not.toMatch(/suppressed|rows|columns/);
  });

  it('refuse a key that is not a reader, even one that claims a reader recipient', async () => {
    const { sealed, ciphertext } = await sealOutputs(outputs, readers);
    await expect(openOutputs(bodyWith(sealed), ciphertext, stranger)).rejects.toMatchObject({
      code: 'result_not_a_reader',
      status: 403,
    });
    const pretender = { resultRecipient: analyst.resultRecipient, decryptResult: stranger.decryptResult };
    await expect(openOutputs(bodyWith(sealed), ciphertext, pretender)).rejects.toMatchObject({
      code: 'result_not_a_reader',
    });
  });

  it('refuse a missing, altered or swapped ciphertext, and a wrong plaintext hash', async () => {
    const { sealed, ciphertext } = await sealOutputs(outputs, readers);
    await expect(openOutputs(bodyWith(sealed), undefined, analyst)).rejects.toMatchObject({
      code: 'result_ciphertext_missing',
    });
    const altered = Buffer.from(ciphertext);
    altered[altered.length - 1] = (altered[altered.length - 1] as number) ^ 1;
    await expect(openOutputs(bodyWith(sealed), altered, analyst)).rejects.toMatchObject({
      code: 'result_ciphertext_mismatch',
    });
    const other = await sealOutputs({ totals: { ...table, rows: [[1]] } }, readers);
    await expect(openOutputs(bodyWith(sealed), other.ciphertext, analyst)).rejects.toMatchObject({
      code: 'result_ciphertext_mismatch',
    });
    // The other ciphertext with its own hash, under this body's plaintext hash: the plaintext check catches it.
    const mixed = { ...sealed, ciphertextSha256: other.sealed.ciphertextSha256 };
    await expect(openOutputs(bodyWith(mixed), other.ciphertext, analyst)).rejects.toMatchObject({
      code: 'result_plaintext_mismatch',
    });
  });

  it('name the outputs released under DP in the clear, and refuse a body that names others', async () => {
    const noisy: OutputTable = {
      ...table,
      dp: { mechanism: 'laplace', epsilon: 0.5, delta: 0, threshold: 7 },
    };
    const { sealed, ciphertext } = await sealOutputs({ totals: table, noisy }, readers);
    expect(sealed.dp).toEqual(['noisy']);
    await expect(openOutputs(bodyWith({ ...sealed, dp: [] }), ciphertext, analyst)).rejects.toMatchObject({
      code: 'result_plaintext_mismatch',
    });
  });

  it('salt the plaintext, so its hash confirms no guess of the outputs', async () => {
    const a = await sealOutputs(outputs, readers);
    const b = await sealOutputs(outputs, readers);
    expect(a.sealed.plaintextSha256).not.toBe(b.sealed.plaintextSha256);
    expect(a.sealed.plaintextSha256).not.toBe(sha256Hex(canonicalJson(outputs)));
  });

  it('list each recipient once, the analyst first; owners without a recipient are no readers', () => {
    const list = resultReaders({ account: analyst.address, recipient: analyst.resultRecipient }, [
      { account: analyst.address, recipient: analyst.resultRecipient },
      { account: owner.address, recipient: owner.resultRecipient },
      { account: owner.address, recipient: owner.resultRecipient },
      { account: stranger.address },
    ]);
    expect(list.map((r) => [r.role, r.account])).toEqual([
      ['analyst', analyst.address],
      ['owner', owner.address],
    ]);
  });

  it('stay in the clear only when the pipeline asks and every policy allows', async () => {
    expect(outputsArePublic('public', [{ results: 'public' }, { results: 'public' }])).toBe(true);
    expect(outputsArePublic('public', [{ results: 'public' }, { results: 'private' }])).toBe(false);
    expect(outputsArePublic('public', [{ results: 'public' }, undefined])).toBe(false);
    expect(outputsArePublic(undefined, [{ results: 'public' }])).toBe(false);
    expect(outputsArePublic('private', [{ results: 'public' }])).toBe(false);
    expect(await releaseOutputs(outputs, { open: true, readers })).toEqual({
      outputs: { visibility: 'public', tables: outputs },
    });
    const sealed = await releaseOutputs(outputs, { open: false, readers });
    expect(sealed.outputs.visibility).toBe('sealed');
    expect(sealed.ciphertext).toBeInstanceOf(Buffer);
  });
});
