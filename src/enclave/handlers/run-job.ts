/**
 * `run_job`: check a job and run it. A job that spends privacy budget or approval runs
 * commits its spend first and reads nothing until `confirm_ledger` shows the entry on chain.
 */
import { ObscuraError } from '../../common/errors.ts';
import { startJob } from '../jobs.ts';
import { handler } from './handler.ts';

export const runJob = handler('run_job', async (req, cx) => {
  const id = req.job.id;
  if (cx.isBusy(id)) {
    throw new ObscuraError('job_already_running', `job ${id} is already running on this worker`, 409);
  }
  const started = await startJob(req.job, cx.ctx, (fraction, message) =>
    cx.send({ type: 'progress', id: req.id, fraction, message }),
  );
  if (!started.spend) return cx.execute(id, started, req.id);
  // Committed, nothing read: the job runs once its spend is on chain (confirm_ledger).
  cx.awaiting.set(started.spend.entry.seq, { job: id, started, cancelled: false });
  return { ledger: started.spend };
});
