/**
 * Released results anchored together. One anchor is one block, and a block on a busy node
 * (the embedded chain builds its blocks in the host's own process, beside the API) can take
 * many seconds: anchored one result per block, with the job runner waiting for each, the
 * queue moved at the chain's pace, not the enclave's. So the runner hands each released
 * result (kept on disk first, see runner.ts) here and goes on to the next job; the results
 * released while one anchor is on its way go together in the next, under one Merkle root,
 * each with its own receipt and inclusion proof (chain/client.ts). Nothing is stored or
 * shown as succeeded before its own receipt is back, so a result is still stored if and only
 * if its anchor is on the chain.
 */
import { MAX_ANCHOR_RECORDS } from '../../chain/client.ts';
import type { AnchorReceipt } from '../../chain/schemas.ts';
import { untilAnchored } from './anchoring.ts';
import type { HostContext } from './context.ts';

interface Waiting {
  jobId: string;
  hash: string;
  resolve: (receipt: AnchorReceipt) => void;
  reject: (e: unknown) => void;
}

/** Batches result anchors: at most one on its way at a time, the next taking all that waited meanwhile. */
export class ResultAnchors {
  #waiting: Waiting[] = [];
  #draining = false;

  constructor(private readonly ctx: HostContext) {}

  /**
   * Anchor the hash of `jobId`'s released result, with whatever else waits, retrying through
   * chain outages (anchoring.ts); resolves with its own receipt. Throws a permanent anchoring
   * error, or 'host_stopping' when the host stops first (the result stays on disk for the
   * next start).
   */
  anchor(jobId: string, hash: string): Promise<AnchorReceipt> {
    const receipt = new Promise<AnchorReceipt>((resolve, reject) =>
      this.#waiting.push({ jobId, hash, resolve, reject }),
    );
    if (!this.#draining) {
      this.#draining = true;
      void this.#drain();
    }
    return receipt;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#waiting.length > 0) {
        const batch = this.#waiting.splice(0, MAX_ANCHOR_RECORDS);
        try {
          const receipts = await this.#anchorBatch(batch);
          for (const [i, w] of batch.entries()) w.resolve(receipts[i] as AnchorReceipt);
        } catch (e) {
          for (const w of batch) w.reject(e);
        }
      }
    } finally {
      // Set in the same turn as the empty check above, so a result handed in later starts a new drain.
      this.#draining = false;
    }
  }

  async #anchorBatch(batch: Waiting[]): Promise<AnchorReceipt[]> {
    const { chain, metadata, log } = this.ctx;
    const what =
      batch.length === 1
        ? `the result of job ${batch[0]?.jobId}`
        : `the results of ${batch.length} jobs (${batch[0]?.jobId} and others)`;
    const end = this.ctx.metrics.anchorDuration.startTimer();
    try {
      return await untilAnchored(
        what,
        async () => {
          const receipts = await chain.anchor(batch.map((w) => ({ kind: 'result', hash: w.hash })));
          if (receipts.length !== batch.length)
            throw new Error(`chain returned ${receipts.length} receipts for ${batch.length} results`);
          return receipts;
        },
        {
          health: this.ctx.chainHealth,
          log,
          signal: this.ctx.shutdown,
          onWait: (message) => {
            for (const w of batch) metadata.setAnchoring(w.jobId, true, message);
          },
        },
      );
    } finally {
      end();
    }
  }
}
