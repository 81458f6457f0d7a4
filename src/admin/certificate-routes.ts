/**
 * @module A service's certificate through the admin API (the service's token or an operator's):
 * PUT one (certificate chain and key, PEM) to have every edge of the fleet serve it within
 * `edge.tls.checkEveryMs`, GET what is served (names, dates, fingerprint — never the PEM, never
 * the key), DELETE it. A certificate is checked before it is stored: the key matches it, it is
 * valid now, its names cover every host of the service.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import {
  type CertificateInfo,
  CertificateProblem,
  certificateProblems,
  inspectCertificate,
} from '../tls/certificate.js';
import type { CertificateStore } from '../tls/certificate-store.js';
import type { Served } from '../tls/contexts.js';
import { type Caller, tokenFingerprint } from './auth.js';
import { badInput, fail } from './replies.js';

export interface CertificateAccess {
  store: CertificateStore;
  /** What this process serves now. */
  served: () => readonly Served[];
}

export const certificateBody = z.strictObject({
  cert: z
    .string()
    .min(1)
    .max(64 * 1024)
    .meta({ description: 'the certificate, then its chain (PEM)' }),
  key: z
    .string()
    .min(1)
    .max(16 * 1024)
    .meta({ description: 'its private key (PEM, unencrypted)' }),
});

export const certificateResponse = z.object({
  service: z.string(),
  source: z.string().meta({ description: '"admin API", or the files the configuration names' }),
  names: z.array(z.string()),
  notBefore: z.string(),
  notAfter: z.string(),
  fingerprint: z.string().meta({ description: 'SHA-256 of the leaf certificate, hex' }),
  subject: z.string(),
  issuer: z.string(),
});

const view = (service: string, source: string, info: CertificateInfo) => ({
  service,
  source,
  names: info.names,
  notBefore: new Date(info.notBefore).toISOString(),
  notAfter: new Date(info.notAfter).toISOString(),
  fingerprint: info.fingerprint,
  subject: info.subject,
  issuer: info.issuer,
});

export function certificateRoutes(
  api: FastifyInstance,
  options: {
    current: () => Config;
    certificates: CertificateAccess | undefined;
    /** The service a /services/{service}/… route names, once the caller may act on it (or undefined: answered). */
    scoped: (request: FastifyRequest, reply: FastifyReply) => string | undefined;
  },
): void {
  const withTls = (reply: FastifyReply): CertificateAccess | undefined => {
    if (!options.certificates) fail(reply, 409, 'CF_ERR_ADMIN_NO_TLS', 'this edge has no HTTPS listener (edge.tls)');
    return options.certificates;
  };

  api.put('/services/:service/certificate', async (request, reply) => {
    const service = options.scoped(request, reply);
    if (service === undefined) return reply;
    const access = withTls(reply);
    if (!access) return reply;
    const input = certificateBody.safeParse(request.body);
    if (!input.success) return badInput(reply, input.error);
    const config = options.current().services.find((s) => s.id === service);
    if (config?.tls.certificate) {
      return fail(
        reply,
        409,
        'CF_ERR_ADMIN_CONFLICT',
        `service "${service}" takes its certificate from files (${config.tls.certificate.cert}): replace those`,
      );
    }
    let info: CertificateInfo;
    try {
      info = inspectCertificate(input.data);
    } catch (error) {
      if (error instanceof CertificateProblem) return fail(reply, 400, 'CF_ERR_ADMIN_BAD_CERTIFICATE', error.message);
      throw error;
    }
    const problems = certificateProblems(info, config?.hosts ?? [], Date.now());
    if (problems.length > 0) return fail(reply, 400, 'CF_ERR_ADMIN_BAD_CERTIFICATE', problems.join('; '));
    await access.store.put(service, input.data);
    const caller = request.caller as Caller;
    request.log.info(
      {
        audit: 'certificate',
        action: 'put',
        service,
        caller: `${caller.kind === 'operator' ? 'operator' : `service:${caller.service}`}#${tokenFingerprint(request.headers.authorization)}`,
        fingerprint: info.fingerprint,
        notAfter: new Date(info.notAfter).toISOString(),
      },
      'certificate stored',
    );
    return view(service, 'admin API', info);
  });

  api.get('/services/:service/certificate', async (request, reply) => {
    const service = options.scoped(request, reply);
    if (service === undefined) return reply;
    const access = withTls(reply);
    if (!access) return reply;
    const served = access.served().find((s) => s.service === service);
    if (!served)
      return fail(reply, 404, 'CF_ERR_ADMIN_NO_CERTIFICATE', `no certificate is served for service "${service}"`);
    return view(service, served.source, served.info);
  });

  api.delete('/services/:service/certificate', async (request, reply) => {
    const service = options.scoped(request, reply);
    if (service === undefined) return reply;
    const access = withTls(reply);
    if (!access) return reply;
    if (!(await access.store.remove(service))) {
      return fail(reply, 404, 'CF_ERR_ADMIN_NO_CERTIFICATE', `no certificate is stored for service "${service}"`);
    }
    request.log.info({ audit: 'certificate', action: 'delete', service }, 'certificate deleted');
    return { service, deleted: true };
  });
}
