/**
 * The error document of the API, RFC 9457 application/problem+json: the host answers with
 * it, the CLI reads it and prints the same shape for its own --json failures.
 */
import { z } from 'zod';

/** The problem document every error response carries. */
export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string(),
  instance: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type Problem = z.infer<typeof ProblemSchema>;

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

/** The problem document for an error code (the API's responses and the CLI's --json failures). */
export function problemBody(
  status: number,
  code: string,
  detail: string,
  instance?: string,
  details?: Record<string, unknown>,
): Problem {
  return {
    type: `https://obscura.dev/problems/${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    ...(instance ? { instance } : {}),
    ...(details ? { details } : {}),
  };
}
