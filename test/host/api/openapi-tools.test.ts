/**
 * The OpenAPI document as generators see it: Redocly's linter with its recommended rules
 * finds nothing in it, and the TypeScript types openapi-typescript generates from it agree
 * with the client (src/client): what each route is documented to answer is what the client
 * method that calls it says it returns. Both run in-process on the document the host serves.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../src/contracts/measurement.ts';
import { openApiDocument } from '../../../src/host/api/openapi-document.ts';

const doc = openApiDocument('http://127.0.0.1:8787');
const work = mkdtempSync(join(tmpdir(), 'obscura-openapi-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Each client method and the route (path, method, status, list key) whose answer it returns. */
const CLIENT_ROUTES: [method: string, path: string, verb: string, status: number, key?: string][] = [
  ['datasets', '/v1/datasets', 'get', 200, 'datasets'],
  ['dataset', '/v1/datasets/{id}', 'get', 200],
  ['budget', '/v1/datasets/{id}/budget', 'get', 200],
  ['pipelines', '/v1/pipelines', 'get', 200, 'pipelines'],
  ['jobs', '/v1/jobs', 'get', 200, 'jobs'],
  ['job', '/v1/jobs/{id}', 'get', 200],
  ['preview', '/v1/jobs/{id}/preview', 'get', 200],
  ['dryRun', '/v1/jobs', 'post', 200],
  ['submitJob', '/v1/jobs', 'post', 202],
  ['cancelJob', '/v1/jobs/{id}', 'delete', 202],
  ['result', '/v1/results/{id}', 'get', 200],
];

describe('the OpenAPI document and generators', () => {
  it('passes redocly lint with the recommended rules', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({
      source: JSON.stringify(doc),
      absoluteRef: join(work, 'openapi.json'),
      config,
    });
    expect(
      problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`),
    ).toEqual([]);
  });

  it('generates TypeScript types that the client type-checks against', async () => {
    writeFileSync(join(work, 'api.d.ts'), astToString(await openapiTS(doc as never)));
    const client = join(PROJECT_ROOT, 'src/client/index.ts');
    const checks = CLIENT_ROUTES.map(([method, path, verb, status, key]) => {
      const body = `Json<paths['${path}']['${verb}'], ${status}>`;
      return `  ${method}: answer<${key ? `${body}['${key}']` : body}>() satisfies Returned<'${method}'>,`;
    });
    const file = join(work, 'check.ts');
    writeFileSync(
      file,
      [
        "import type { paths } from './api.js';",
        `import type { ObscuraClient } from '${client}';`,
        "type Json<O, S extends number> = O extends { responses: { [K in S]: { content: { 'application/json': infer T } } } } ? T : never;",
        'type Returned<K extends keyof ObscuraClient> = ObscuraClient[K] extends (...a: never[]) => Promise<infer R> ? R : never;',
        'declare function answer<T>(): T;',
        // What the document says a route answers must satisfy what its client method returns.
        'export const checks = {',
        ...checks,
        '};',
        '',
      ].join('\n'),
    );
    const program = ts.createProgram([file], {
      strict: true,
      exactOptionalPropertyTypes: true,
      noEmit: true,
      skipLibCheck: true,
      allowImportingTsExtensions: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
    });
    // Only the check file's diagnostics: the project itself is type-checked by `npm run lint`.
    const diagnostics = program
      .getSemanticDiagnostics(program.getSourceFile(file))
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
  }, 120_000);
});
