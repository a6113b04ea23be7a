/**
 * Prometheus metrics of the API host (prom-client), served at GET /metrics. Labels carry
 * route patterns, status codes and job outcomes only: never ids, addresses or data.
 */
import type { NextFunction, Request, Response } from 'express';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The host's metrics. */
export class HostMetrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'obscura_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.02, 0.1, 0.5, 2, 10, 60],
    registers: [this.registry],
  });
  readonly jobs = new Counter({
    name: 'obscura_jobs_total',
    help: 'Jobs finished, by outcome (succeeded, or the failure code)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: 'obscura_job_duration_seconds',
    help: 'Time from a job starting to its result being anchored and stored',
    buckets: [0.1, 0.5, 1, 5, 20, 60, 300],
    registers: [this.registry],
  });
  /** Where each job's time goes (job-phases.ts). */
  readonly jobPhase = new Histogram({
    name: 'obscura_job_phase_seconds',
    help: 'Seconds of each phase of a job: queue, check, spend, run, sign, anchor, store',
    labelNames: ['phase'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 20, 60, 300],
    registers: [this.registry],
  });
  readonly anchorDuration = new Histogram({
    name: 'obscura_anchor_duration_seconds',
    help: 'Time to anchor a batch of records on the chain',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 15],
    registers: [this.registry],
  });
  readonly uploadedBytes = new Counter({
    name: 'obscura_uploaded_ciphertext_bytes_total',
    help: 'Ciphertext bytes accepted in dataset uploads',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'obscura_' });
  }

  /** Express middleware timing every request by its route pattern. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      const end = this.httpDuration.startTimer();
      res.on('finish', () => {
        const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
        end({ method: req.method, route, status: String(res.statusCode) });
      });
      next();
    };
  }
}
