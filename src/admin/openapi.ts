/**
 * @module The admin API's OpenAPI 3.1 document, generated from the zod schemas the handlers
 * validate with (src/admin/schemas.ts). Served at GET /openapi.json; every route registered
 * under /v1 must appear here (test/integration/admin/openapi.test.ts holds the two together).
 */
import { type ZodType, z } from 'zod';
import { certificateBody, certificateResponse } from './certificate-routes.js';
import {
  auditQuery,
  auditResponse,
  configResponse,
  errorResponse,
  explainBody,
  listQuery,
  listResponse,
  originResponse,
  purgeResponse,
  receiptParams,
  receiptResponse,
  reloadResponse,
  serviceChangeResponse,
  serviceDefinitionResponse,
  serviceParams,
  servicePurgeBody,
  servicesResponse,
  statsResponse,
  urlPurgeBody,
} from './schemas.js';

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** An object schema's properties as OpenAPI parameters (path or query). */
function parameters(schema: ZodType, where: 'path' | 'query'): JsonSchema[] {
  const json = schemaOf(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: property,
  }));
}

const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        description: ERROR_DESCRIPTIONS[status] ?? 'error',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    ]),
  );

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'invalid input (CF_ERR_ADMIN_BAD_INPUT, CF_ERR_ADMIN_BAD_CURSOR, CF_ERR_ADMIN_UNSCOPED_PURGE)',
  401: 'no valid bearer token (CF_ERR_ADMIN_UNAUTHENTICATED)',
  403: 'the token may not act on this service (CF_ERR_ADMIN_FORBIDDEN)',
  404: 'no such service, or no service for the URL’s host',
  409: 'conflicts with the running configuration (CF_ERR_ADMIN_CONFLICT), or no catalog/reload here',
  422: 'the configuration file does not validate: the running one stays (CF_ERR_CONFIG_INVALID, with issues)',
};

const ok = (schema: ZodType, description: string) => ({
  200: { description, content: { 'application/json': { schema: schemaOf(schema, 'output') } } },
});

const body = (schema: ZodType) => ({
  required: true,
  content: { 'application/json': { schema: schemaOf(schema, 'input') } },
});

export function buildOpenApi(version: string): JsonSchema {
  const service = parameters(serviceParams, 'path');
  return {
    openapi: '3.1.0',
    info: {
      title: 'cachefront admin API',
      version,
      description:
        'Operators’ control of the edge cache: list, filter and purge entries, explain keys, read stats. ' +
        'Bearer tokens: an operator token reaches every service, a service token only its own.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: schemaOf(errorResponse, 'output') },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/services': {
        get: {
          operationId: 'listServices',
          summary: 'The services this token may act on',
          responses: { ...ok(servicesResponse, 'services'), ...errors(401) },
        },
      },
      '/v1/services/{service}': {
        get: {
          operationId: 'getService',
          summary: 'A running service: where it comes from (file or catalog), and its catalog definition',
          parameters: service,
          responses: { ...ok(serviceDefinitionResponse, 'the service'), ...errors(400, 401, 403, 404) },
        },
        put: {
          operationId: 'putService',
          summary: 'Create or change a service in the catalog (operator token; catalog.enabled)',
          description:
            'The body is a service as the configuration file writes one (docs/config.md), validated by the same ' +
            'schema. Answered (201 created, 200 changed) once every live process reports the new catalog ' +
            'version, or after 5 s with `applied.complete` false.',
          parameters: service,
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
          responses: {
            ...ok(serviceChangeResponse, 'stored, and where it is applied'),
            ...errors(400, 401, 403, 409),
          },
        },
        delete: {
          operationId: 'deleteService',
          summary: 'Delete a catalog service: its hosts get 421 on every node',
          parameters: service,
          responses: {
            ...ok(serviceChangeResponse, 'deleted, and where it is applied'),
            ...errors(400, 401, 403, 404, 409),
          },
        },
      },
      '/v1/config': {
        get: {
          operationId: 'getConfig',
          summary: 'The running configuration’s version, its services, and what every process reports running',
          responses: { ...ok(configResponse, 'the configuration'), ...errors(401, 403) },
        },
      },
      '/v1/config/audit': {
        get: {
          operationId: 'configAudit',
          summary: 'The catalog’s latest changes, newest first, with their callers',
          parameters: parameters(auditQuery, 'query'),
          responses: { ...ok(auditResponse, 'changes'), ...errors(400, 401, 403, 409) },
        },
      },
      '/v1/reload': {
        post: {
          operationId: 'reload',
          summary: 'Re-read and validate the configuration file; apply it to every worker of this node',
          responses: { ...ok(reloadResponse, 'applied'), ...errors(401, 403, 409, 422) },
        },
      },
      '/v1/services/{service}/certificate': {
        put: {
          operationId: 'putCertificate',
          summary: 'Store the service’s certificate and key (PEM) for every edge to serve',
          description:
            'Checked first: the key matches, the certificate is valid now, its names cover every host of the ' +
            'service. Every edge serves it within edge.tls.checkEveryMs. The answer describes it; the key is ' +
            'never returned or logged.',
          parameters: service,
          requestBody: body(certificateBody),
          responses: { ...ok(certificateResponse, 'stored'), ...errors(400, 401, 403, 404, 409) },
        },
        get: {
          operationId: 'getCertificate',
          summary: 'The certificate this edge serves for the service (names, dates, fingerprint)',
          parameters: service,
          responses: { ...ok(certificateResponse, 'served'), ...errors(401, 403, 404, 409) },
        },
        delete: {
          operationId: 'deleteCertificate',
          summary: 'Remove the certificate stored through the API',
          parameters: service,
          responses: { 200: { description: 'deleted' }, ...errors(401, 403, 404, 409) },
        },
      },
      '/v1/services/{service}/entries': {
        get: {
          operationId: 'listEntries',
          summary: 'List a service’s cached entries, filtered, a page at a time',
          description:
            'Index-backed. A page may hold fewer than `limit` items while `nextCursor` is not null (each page ' +
            'is bounded in time); follow `nextCursor` until it is null.',
          parameters: [...service, ...parameters(listQuery, 'query')],
          responses: { ...ok(listResponse, 'a page of entries'), ...errors(400, 401, 403, 404) },
        },
      },
      '/v1/services/{service}/purge': {
        post: {
          operationId: 'purgeService',
          summary: 'Purge one URL, the entries a filter selects, or the whole service',
          parameters: service,
          requestBody: body(servicePurgeBody),
          responses: { ...ok(purgeResponse, 'what was purged'), ...errors(400, 401, 403, 404) },
        },
      },
      '/v1/services/{service}/stats': {
        get: {
          operationId: 'serviceStats',
          summary: 'The service’s counters, shared by every edge node',
          parameters: service,
          responses: { ...ok(statsResponse, 'stats'), ...errors(401, 403, 404) },
        },
      },
      '/v1/services/{service}/purges/{receipt}': {
        get: {
          operationId: 'purgeReceipt',
          summary: 'Where a purge has been applied: this region and each peer (regions only)',
          parameters: parameters(receiptParams, 'path'),
          responses: {
            ...ok(receiptResponse, 'per region, when the purge was applied'),
            ...errors(400, 401, 403, 404),
          },
        },
      },
      '/v1/services/{service}/origin': {
        get: {
          operationId: 'originHealth',
          summary: 'The origin’s circuit breaker, as every edge node sees it',
          parameters: service,
          responses: { ...ok(originResponse, 'circuit state'), ...errors(401, 403, 404) },
        },
      },
      '/v1/purge': {
        post: {
          operationId: 'purgeUrl',
          summary: 'Purge every variant of a URL (the service is found from its host)',
          requestBody: body(urlPurgeBody),
          responses: { ...ok(purgeResponse, 'what was purged'), ...errors(400, 401, 403, 404) },
        },
      },
      '/v1/explain': {
        post: {
          operationId: 'explain',
          summary: 'How a request would be keyed and answered, without contacting the origin',
          requestBody: body(explainBody),
          responses: { 200: { description: 'the explanation' }, ...errors(400, 401, 403, 404) },
        },
      },
    },
  };
}
