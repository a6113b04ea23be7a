/**
 * After the enclave read data, every failure leaves it as one code with one fixed message
 * (src/enclave/data-condition.ts): whatever the cause, its class, code, wording and
 * details stay inside; only job limits and cancellations keep their own (data-free) codes.
 */
import { describe, expect, it } from 'vitest';
import { ObscuraError } from '../../src/common/errors.ts';
import {
  afterData,
  DATA_CONDITION_CODE,
  DATA_CONDITION_MESSAGE,
  dataCondition,
} from '../../src/enclave/data-condition.ts';

describe('dataCondition', () => {
  it('maps any failure to the one code and message, dropping details and cause', () => {
    const causes: unknown[] = [
      new ObscuraError('ml_too_few_rows', 'step m: 1 rows to train on, fewer than the 10 required', 422, {
        step: 'm',
        rows: 1,
      }),
      new ObscuraError('ml_label_invalid', 'a row has another value', 422),
      new ObscuraError('pipeline_execution_failed', 'step a failed in DuckDB (Out of Range Error)', 422, {
        kind: 'Out of Range Error',
      }),
      new RangeError('P000003-06c2dc is out of range'),
      'a thrown string with a value 3080.47',
      undefined,
    ];
    for (const c of causes) {
      const e = dataCondition(c);
      expect(e).toBeInstanceOf(ObscuraError);
      expect({
        code: e.code,
        message: e.message,
        status: e.status,
        details: e.details,
        cause: e.cause,
      }).toEqual({
        code: DATA_CONDITION_CODE,
        message: DATA_CONDITION_MESSAGE,
        status: 422,
        details: undefined,
        cause: undefined,
      });
    }
    expect(DATA_CONDITION_MESSAGE).not.toMatch(/\d/);
  });

  it('keeps the data-free job limit, cancellation and damaged store codes', () => {
    const limit = new ObscuraError(
      'job_limit_exceeded',
      'the job ran longer than the time limit per job',
      422,
    );
    const cancelled = new ObscuraError('job_cancelled', 'the job was cancelled by its analyst', 409);
    expect(dataCondition(limit)).toBe(limit);
    expect(dataCondition(cancelled)).toBe(cancelled);
    // A damaged store found as a job's scan reaches it names the place only (store-rows.test.ts).
    const corrupt = new ObscuraError(
      'store_corrupt',
      "the enclave's store of dataset d is damaged (column 3, chunk 4)",
      422,
    );
    expect(dataCondition(corrupt)).toBe(corrupt);
  });

  it('afterData passes values through and maps failures', async () => {
    await expect(afterData(async () => 7)).resolves.toBe(7);
    await expect(
      afterData(async () => {
        throw new ObscuraError(
          'ml_vocabulary_too_large',
          'feature region has more than 50 distinct values',
          422,
        );
      }),
    ).rejects.toMatchObject({ code: DATA_CONDITION_CODE, message: DATA_CONDITION_MESSAGE });
  });
});
