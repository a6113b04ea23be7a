/**
 * Errors at the HTTP edge, as RFC 9457 application/problem+json. ObscuraErrors keep their
 * code and message; anything else becomes a generic 500 whose cause goes to the log only.
 */
import type { NextFunction, Request, Response } from 'express';
import { isObscuraError } from '../../common/errors.ts';
import { problemBody } from '../../contracts/problem.ts';

/** Send a problem response. */
export function sendProblem(
  res: Response,
  status: number,
  code: string,
  detail: string,
  instance?: string,
  details?: Record<string, unknown>,
): void {
  const body = problemBody(status, code, detail, instance, details);
  res.status(status).type('application/problem+json').send(JSON.stringify(body));
}

/** Express error handler: the last middleware of the app. */
export function problemHandler(log: (message: string) => void) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (res.headersSent) return;
    if (isObscuraError(err)) {
      sendProblem(res, err.status, err.code, err.message, req.originalUrl, err.details);
      return;
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e?.type === 'entity.parse.failed') {
      sendProblem(res, 400, 'body_invalid_json', 'request body is not valid JSON', req.originalUrl);
      return;
    }
    if (e?.type === 'entity.too.large') {
      sendProblem(res, 413, 'body_too_large', 'request body is too large', req.originalUrl);
      return;
    }
    log(
      `unhandled error on ${req.method} ${req.path}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
    );
    sendProblem(res, 500, 'internal_error', 'the server failed to handle this request', req.originalUrl);
  };
}
