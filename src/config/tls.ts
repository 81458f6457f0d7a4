/**
 * @module The configuration of HTTPS (docs/tls.md): the edge's TLS listener (`edge.tls`) and each
 * service's certificate, redirect and HSTS (`services[].tls`).
 */
import { z } from 'zod';
import { byteSize, durationMs, listen } from './units.js';

/**
 * TLS 1.2 suites, strongest first, forward-secret AEAD only (Mozilla's "intermediate" list); TLS
 * 1.3's suites are OpenSSL's own, all of them strong.
 */
export const MODERN_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** A certificate and its key as PEM files (the certificate file holds the leaf, then its chain). */
export const certificateFiles = z.strictObject({
  cert: z.string().min(1),
  key: z.string().min(1),
  /**
   * A DER OCSP response to staple, kept fresh by an outside tool (as nginx's ssl_stapling_file);
   * re-read with the certificate.
   */
  ocspResponse: z.string().min(1).optional(),
});

export const edgeTlsSchema = z
  .strictObject({
    listen: listen('0.0.0.0', 8443),
    /**
     * Served to a client whose SNI name belongs to no service with a certificate, or who sends
     * none. Absent: those handshakes are refused. Never another customer's certificate.
     */
    defaultCertificate: certificateFiles.optional(),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
    /** TLS 1.2 cipher suites, in the server's order of preference. */
    ciphers: z.string().min(1).default(MODERN_CIPHERS),
    /** Session tickets' key: shared by a node's workers, replaced this often. */
    ticketKeyRotateMs: durationMs.default(12 * 3_600_000).refine((ms) => ms >= 60_000, { error: 'at least 1 minute' }),
    /** Certificate files (and the certificates stored in Redis) are checked for changes this often. */
    checkEveryMs: durationMs.default(2_000).refine((ms) => ms >= 100, { error: 'at least 100 ms' }),
    /** HTTP/2 over ALPN beside HTTP/1.1, and its limits. */
    http2: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** Streams a client may have open at once on one connection. */
        maxConcurrentStreams: z.number().int().min(1).max(1000).default(128),
        /** A request's header list (HPACK-decoded), bytes; larger is refused. */
        maxHeaderListBytes: byteSize.default(32 * 1024),
        /**
         * Streams a client may reset in a second before its connection is closed (rapid reset,
         * CVE-2023-44487): resets cost the server work the client does not pay for.
         */
        maxResetsPerSecond: z.number().int().min(1).default(100),
      })
      .prefault({}),
  })
  .optional();

export const serviceTlsSchema = z
  .strictObject({
    /**
     * The service's certificate as files. Without it, one set through the admin API (kept in
     * Redis for the fleet) is served, if any.
     */
    certificate: certificateFiles.optional(),
    /** Plain-HTTP requests get a redirect to HTTPS (301 for GET and HEAD, 308 for the rest). */
    redirectHttp: z.boolean().default(false),
    /** Strict-Transport-Security on HTTPS responses. */
    hsts: z
      .strictObject({
        maxAge: durationMs.default(365 * 86_400_000),
        includeSubDomains: z.boolean().default(false),
        preload: z.boolean().default(false),
      })
      .optional(),
  })
  .prefault({});

export type EdgeTlsConfig = NonNullable<z.output<typeof edgeTlsSchema>>;
export type ServiceTlsConfig = z.output<typeof serviceTlsSchema>;
