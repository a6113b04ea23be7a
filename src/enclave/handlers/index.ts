/**
 * The enclave's message handlers, one per message of the protocol (a file each), and the
 * dispatcher that validates a host's request with its handler's schema before it runs.
 * Nothing a handler throws reaches the host but an ObscuraError's code and message, which
 * are written data-free; anything else becomes a generic internal error.
 */
import type { HostRequestType } from '../../contracts/enclave-protocol.ts';
import type { EnclaveContext } from '../context.ts';
import { applyPolicyUpdate } from './apply-policy-update.ts';
import { attest } from './attest.ts';
import { budget } from './budget.ts';
import { cancelJob } from './cancel-job.ts';
import { confirmLedger } from './confirm-ledger.ts';
import { fedAverage } from './fed-average.ts';
import { fedClose } from './fed-close.ts';
import { fedEvaluate } from './fed-evaluate.ts';
import { fedFinish } from './fed-finish.ts';
import { fedInit } from './fed-init.ts';
import { fedMerge } from './fed-merge.ts';
import { fedOpen } from './fed-open.ts';
import { fedPartial } from './fed-partial.ts';
import { fedPartialCheck } from './fed-partial-check.ts';
import { fedPartialRun } from './fed-partial-run.ts';
import { fedRound } from './fed-round.ts';
import type { Handler, Handlers } from './handler.ts';
import { handoverExport } from './handover-export.ts';
import { handoverImport } from './handover-import.ts';
import { hello } from './hello.ts';
import { ledgerUnconfirmed } from './ledger-unconfirmed.ts';
import { runJob } from './run-job.ts';
import { validateDataset } from './validate-dataset.ts';

/** Every message the enclave answers, by type. */
export const HANDLERS: Handlers = {
  hello,
  attest,
  validate_dataset: validateDataset,
  run_job: runJob,
  cancel_job: cancelJob,
  handover_export: handoverExport,
  confirm_ledger: confirmLedger,
  ledger_unconfirmed: ledgerUnconfirmed,
  apply_policy_update: applyPolicyUpdate,
  budget,
  fed_open: fedOpen,
  fed_init: fedInit,
  fed_round: fedRound,
  fed_average: fedAverage,
  fed_evaluate: fedEvaluate,
  fed_finish: fedFinish,
  fed_partial_check: fedPartialCheck,
  fed_partial: fedPartial,
  fed_partial_run: fedPartialRun,
  fed_merge: fedMerge,
  fed_close: fedClose,
  handover_import: handoverImport,
};

/** The id of a request, if it has a numeric one (-1 otherwise), to answer even a malformed request. */
function requestId(raw: unknown): number {
  return typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'number'
    ? (raw as { id: number }).id
    : -1;
}

/** The handler of `raw`'s type, if it names a message of the protocol. */
function handlerOf(raw: unknown): Handler<HostRequestType> | undefined {
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  if (typeof type !== 'string' || !Object.hasOwn(HANDLERS, type)) return undefined;
  // One handler per type: the request is checked against this handler's own schema below.
  return HANDLERS[type as HostRequestType] as Handler<HostRequestType>;
}

/** Validate a message from the host, run its handler and send the response (or a data-free failure). */
export async function dispatch(raw: unknown, cx: EnclaveContext): Promise<void> {
  const h = handlerOf(raw);
  const parsed = h?.schema.safeParse(raw);
  if (!h || !parsed?.success) {
    cx.send({
      type: 'response',
      id: requestId(raw),
      ok: false,
      error: {
        code: 'enclave_bad_request',
        message: 'request does not match the enclave protocol',
        status: 400,
      },
    });
    return;
  }
  const req = parsed.data;
  try {
    const value = await h.handle(req, cx);
    cx.send({ type: 'response', id: req.id, ok: true, value });
  } catch (e) {
    cx.send({ type: 'response', id: req.id, ok: false, error: cx.failureOf(e, req.type) });
  }
}
