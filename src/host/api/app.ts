/**
 * The express application of the API host: /v1 routes, the OpenAPI document, the dashboard
 * at /, and problem+json errors. Built from a HostContext so tests can call it in-process.
 */
import { createHash } from 'node:crypto';
import express, { type Express } from 'express';
import { ObscuraError } from '../../common/errors.ts';
import { guardRoutes } from './access.ts';
import { DASHBOARD_HEADERS, DASHBOARD_SCRIPT_PATH, dashboardFile } from './dashboard/assets.ts';
import type { HostContext } from './context.ts';
import { ROUTES } from './openapi.ts';
import { openApiDocument } from './openapi-document.ts';
import { problemHandler } from './problem.ts';
import { datasetRoutes } from './routes/datasets.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { datasetPrivacyRoutes } from './routes/dataset-privacy.ts';
import { jobRoutes } from './routes/jobs.ts';
import { pipelineRoutes } from './routes/pipelines.ts';
import { resultRoutes } from './routes/results.ts';
import { systemRoutes } from './routes/system.ts';
import { nodeRoutes } from './routes/nodes.ts';
import { federationRoutes } from './routes/federation.ts';
import { upgradeRoutes } from './routes/upgrades.ts';

/** The API application for a host context. */
export function createApp(ctx: HostContext, opts: { serverUrl: string }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(ctx.metrics.middleware());
  app.use(
    express.json({
      limit: '1mb',
      verify: (req, _res, buf) => {
        (req as express.Request).bodySha256 = createHash('sha256').update(buf).digest('hex');
      },
    }),
  );
  const v1 = express.Router();
  // Before any handler: the route's access rule (404 for a request no route of the table matches).
  v1.use(guardRoutes(ctx, ROUTES, ctx.seenRequests));
  v1.use(systemRoutes(ctx));
  v1.use(nodeRoutes(ctx));
  v1.use(federationRoutes(ctx));
  v1.use(datasetRoutes(ctx));
  v1.use(pipelineRoutes(ctx));
  v1.use(jobRoutes(ctx));
  v1.use(approvalRoutes(ctx));
  v1.use(datasetPrivacyRoutes(ctx));
  v1.use(resultRoutes(ctx));
  v1.use(upgradeRoutes(ctx));
  v1.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument(opts.serverUrl));
  });
  app.use('/v1', v1);
  app.get('/metrics', async (_req, res) => {
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  app.get(['/', DASHBOARD_SCRIPT_PATH, '/favicon.svg', '/favicon.ico'], async (req, res, next) => {
    try {
      const file = await dashboardFile(req.path);
      if (!file) return next();
      res.set(DASHBOARD_HEADERS).type(file.type).send(file.body);
    } catch (e) {
      next(e);
    }
  });
  app.use((req, _res, next) => {
    next(new ObscuraError('not_found', `no route for ${req.method} ${req.path}`, 404));
  });
  app.use(problemHandler((m) => ctx.log('error', m)));
  return app;
}
